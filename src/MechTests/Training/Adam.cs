using MechTests.Tensors;

namespace MechTests.Training;

/// <summary>
/// Adam over a model's named weights, updated in place: the one optimiser step <see cref="Trainer"/> and
/// <see cref="FineTuner"/> share (bias-corrected moments, ε added to √v̂), so the two cannot drift apart.
/// </summary>
internal sealed class Adam
{
    private readonly (string Name, float[] Value)[] _weights;
    private readonly Dictionary<string, float[]> _m, _v;
    private readonly float _beta1, _beta2, _epsilon;

    public Adam(IEnumerable<(string Name, float[] Value)> weights, float beta1, float beta2, float epsilon)
    {
        _weights = weights.ToArray();
        _m = _weights.ToDictionary(x => x.Name, x => new float[x.Value.Length]);
        _v = _weights.ToDictionary(x => x.Name, x => new float[x.Value.Length]);
        (_beta1, _beta2, _epsilon) = (beta1, beta2, epsilon);
    }

    /// <summary>Step <paramref name="step"/> (1-based) with learning rate <paramref name="lr"/>; weights without a gradient stay.</summary>
    public void Step(int step, float lr, IReadOnlyDictionary<string, float[]> grads)
    {
        float b1t = 1 - MathF.Pow(_beta1, step), b2t = 1 - MathF.Pow(_beta2, step);
        foreach (var (name, w) in _weights)
        {
            if (!grads.TryGetValue(name, out var g)) continue;
            var mm = _m[name];
            var vv = _v[name];
            for (int i = 0; i < w.Length; i++)
            {
                mm[i] = _beta1 * mm[i] + (1 - _beta1) * g[i];
                vv[i] = _beta2 * vv[i] + (1 - _beta2) * g[i] * g[i];
                w[i] -= lr * (mm[i] / b1t) / (MathF.Sqrt(vv[i] / b2t) + _epsilon);
            }
        }
    }
}

/// <summary>Next-token cross-entropy for <see cref="Trainer"/> (masked) and <see cref="FineTuner"/> (every prediction).</summary>
internal static class NextTokenLoss
{
    /// <summary>
    /// Mean cross-entropy over the predictions <paramref name="mask"/> selects (null: all; the last position's flag is
    /// ignored) and its gradient w.r.t. the logits, zero at unscored positions. <paramref name="count"/> scored predictions.
    /// </summary>
    public static (double Loss, Tensor DLogits) Compute(Tensor logits, IReadOnlyList<int[]> tokens, bool[][]? mask, int count)
    {
        int b = logits.Shape[0], t = logits.Shape[1], vocab = logits.Shape[2];
        var d = new Tensor(logits.Shape);
        double total = 0;
        for (int i = 0; i < b; i++)
        for (int p = 0; p < t - 1; p++)
        {
            if (mask != null && !mask[i][p]) continue;
            int off = (i * t + p) * vocab;
            var z = logits.Data.AsSpan(off, vocab);
            float max = float.NegativeInfinity;
            foreach (float x in z) max = Math.Max(max, x);
            double sum = 0;
            foreach (float x in z) sum += Math.Exp(x - max);
            double lse = max + Math.Log(sum);
            int target = tokens[i][p + 1];
            total += lse - z[target];
            for (int j = 0; j < vocab; j++) d.Data[off + j] = (float)(Math.Exp(z[j] - lse) / count);
            d.Data[off + target] -= 1f / count;
        }
        return (total / count, d);
    }
}
