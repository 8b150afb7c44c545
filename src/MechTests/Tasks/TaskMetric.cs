using MechTests.Tensors;

namespace MechTests.Tasks;

/// <summary>
/// Evaluates a task metric at the last position of each row of a batch (one row per pair) and its gradient with
/// respect to the logits. Each row's gradient is that pair's own, so one backward pass gives per-pair attributions.
/// </summary>
public static class TaskMetric
{
    /// <summary>
    /// Per-pair metric values of logits [b,p,V] for <paramref name="pairs"/> (row i ↔ pairs[i]).
    /// <paramref name="cleanLogProbs"/> (per row, V) is needed for KL.
    /// </summary>
    public static double[] Values(MetricKind kind, Tensor logits, IReadOnlyList<PromptPair> pairs, double[][]? cleanLogProbs = null)
        => Compute(kind, logits, pairs, cleanLogProbs, null);

    /// <summary>Per-pair values and dLogits = ∂(Σ_i metric_i)/∂logits (nonzero only at each row's last position).</summary>
    public static (double[] Values, Tensor DLogits) ValuesAndGradient(MetricKind kind, Tensor logits, IReadOnlyList<PromptPair> pairs, double[][]? cleanLogProbs = null)
    {
        var d = new Tensor(logits.Shape);
        var v = Compute(kind, logits, pairs, cleanLogProbs, d);
        return (v, d);
    }

    /// <summary>Log-softmax of each row's last position, for KL against the clean run.</summary>
    public static double[][] LastLogProbs(Tensor logits)
    {
        int b = logits.Shape[0], t = logits.Shape[1], vocab = logits.Shape[2];
        var result = new double[b][];
        for (int i = 0; i < b; i++) result[i] = LogSoftmax(logits.Data.AsSpan(((i * t) + t - 1) * vocab, vocab));
        return result;
    }

    private static double[] Compute(MetricKind kind, Tensor logits, IReadOnlyList<PromptPair> pairs, double[][]? cleanLogProbs, Tensor? grad)
    {
        int b = logits.Shape[0], t = logits.Shape[1], vocab = logits.Shape[2];
        if (b != pairs.Count) throw new ArgumentException($"{b} logit rows for {pairs.Count} pairs.");
        var values = new double[b];
        for (int i = 0; i < b; i++)
        {
            var pair = pairs[i];
            int off = (i * t + t - 1) * vocab;
            var z = logits.Data.AsSpan(off, vocab);
            var g = grad == null ? Span<float>.Empty : grad.Data.AsSpan(off, vocab);
            bool wantGrad = grad != null;
            double value;
            switch (kind)
            {
                case MetricKind.LogitDiff:
                {
                    value = 0;
                    foreach (int c in pair.Correct) value += z[c] / (double)pair.Correct.Length;
                    foreach (int w in pair.Wrong) value -= z[w] / (double)pair.Wrong.Length;
                    if (wantGrad)
                    {
                        foreach (int c in pair.Correct) g[c] += 1f / pair.Correct.Length;
                        foreach (int w in pair.Wrong) g[w] -= 1f / pair.Wrong.Length;
                    }
                    break;
                }
                case MetricKind.ProbDiff:
                {
                    var lp = LogSoftmax(z);
                    var sign = new double[vocab];
                    foreach (int c in pair.Correct) sign[c] = 1;
                    foreach (int w in pair.Wrong) sign[w] = -1;
                    value = 0;
                    for (int j = 0; j < vocab; j++) if (sign[j] != 0) value += sign[j] * Math.Exp(lp[j]);
                    if (wantGrad)
                        for (int j = 0; j < vocab; j++) g[j] = (float)(Math.Exp(lp[j]) * (sign[j] - value));
                    break;
                }
                case MetricKind.KlDivergence:
                {
                    var clean = cleanLogProbs?[i] ?? throw new ArgumentException("The kl metric needs the clean run's log-probabilities.");
                    var lp = LogSoftmax(z);
                    value = 0;
                    for (int j = 0; j < vocab; j++)
                    {
                        double pc = Math.Exp(clean[j]);
                        if (pc > 0) value += pc * (clean[j] - lp[j]);
                    }
                    if (wantGrad)
                        for (int j = 0; j < vocab; j++) g[j] = (float)(Math.Exp(lp[j]) - Math.Exp(clean[j]));
                    break;
                }
                case MetricKind.LogProb:
                {
                    var lp = LogSoftmax(z);
                    double mass = 0;
                    foreach (int c in pair.Correct) mass += Math.Exp(lp[c]);
                    value = Math.Log(mass);
                    if (wantGrad)
                    {
                        for (int j = 0; j < vocab; j++) g[j] = (float)-Math.Exp(lp[j]);
                        foreach (int c in pair.Correct) g[c] += (float)(Math.Exp(lp[c]) / mass);
                    }
                    break;
                }
                default: throw new ArgumentOutOfRangeException(nameof(kind));
            }
            if (double.IsNaN(value) || double.IsInfinity(value))
                throw new InvalidDataException($"pair {pair.Index}: metric {MetricNames.Of(kind)} is {value} (check the logits for NaN/∞ and the answers).");
            values[i] = value;
        }
        return values;
    }

    private static double[] LogSoftmax(ReadOnlySpan<float> z)
    {
        double max = double.NegativeInfinity;
        foreach (float v in z) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in z) sum += Math.Exp(v - max);
        double lse = max + Math.Log(sum);
        var r = new double[z.Length];
        for (int j = 0; j < z.Length; j++) r[j] = z[j] - lse;
        return r;
    }
}
