using MechTests.Hooks;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.Semantics;

/// <summary>
/// The logit lens: the residual stream at every layer boundary, at each prompt's last position, read through the final
/// norm (with that vector's own scale) and the unembedding, as if the model stopped there. It reads the caches of a
/// <see cref="TaskRuns"/> (one clean and one corrupted run; no extra forward pass).
/// </summary>
/// <example><code>
/// using var runs = TaskRuns.Create(engine, task);
/// foreach (var layer in LogitLens.Run(runs, model.Weights).Layers)
///     Console.WriteLine($"{layer.Name}: {layer.CleanMetric:F2} (p(correct) {layer.Clean.CorrectProbability:F2})");
/// </code></example>
public static class LogitLens
{
    /// <summary>What every figure means.</summary>
    public const string Conventions =
        "each layer boundary's residual stream at the last position through the final norm (its own scale) and the unembedding; " +
        "metric = the task metric of those logits; probability = softmax mass of the answer set; rank = 1 + tokens with a higher logit than the best answer; mean over pairs";

    /// <summary>Reads every layer boundary (<c>resid_pre.0</c> … <c>resid_pre.{L−1}</c>, then <c>resid_post.{L−1}</c>, the final residual).</summary>
    /// <param name="runs">The task's clean and corrupted runs (their caches hold every residual boundary).</param>
    /// <param name="weights">The weights of the model the runs ran on (final norm and unembedding).</param>
    public static LogitLensResult Run(TaskRuns runs, ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var c = runs.Model.Config;
        var readout = new Readout(c, weights);
        var hooks = Enumerable.Range(0, c.NLayers).Select(HookNames.ResidPre).Append(HookNames.ResidPost(c.NLayers - 1)).ToArray();
        int n = runs.PairCount, vocab = c.VocabSize, d = c.DModel;
        var acc = new double[hooks.Length, 10];
        int wrongCount = 0;
        foreach (var batch in runs.Batches)
        {
            int b = batch.Pairs.Length;
            wrongCount += batch.Pairs.Count(p => p.Wrong.Length > 0);
            foreach (var (pass, slot) in new[] { (batch.Clean, 0), (batch.Corrupted, 1) })
            {
                // Every boundary's last-position rows in one product with the unembedding (it is read once, not per boundary).
                var rows = new float[hooks.Length * b * d];
                for (int k = 0; k < hooks.Length; k++)
                    Array.Copy(LastRows(pass.Cache[hooks[k]], batch.Positions), 0, rows, k * b * d, b * d);
                var all = readout.Logits(rows, hooks.Length * b);
                for (int k = 0; k < hooks.Length; k++)
                {
                    var logits = new Tensors.Tensor(all.Data.AsSpan(k * b * vocab, b * vocab).ToArray(), b, 1, vocab);
                    var metric = TaskMetric.Values(runs.Task.Metric, logits, batch.Pairs, batch.CleanLogProbs);
                    for (int i = 0; i < b; i++)
                    {
                        var row = logits.Data.AsSpan(i * vocab, vocab);
                        var pair = batch.Pairs[i];
                        double lse = LogSumExp(row);
                        acc[k, slot] += metric[i];
                        var (pc, rc) = Answer(row, lse, pair.Correct);
                        acc[k, 2 + slot * 4] += pc;
                        acc[k, 3 + slot * 4] += rc;
                        if (pair.Wrong.Length == 0) continue;
                        var (pw, rw) = Answer(row, lse, pair.Wrong);
                        acc[k, 4 + slot * 4] += pw;
                        acc[k, 5 + slot * 4] += rw;
                    }
                }
            }
        }
        var layers = new List<LensLayer>();
        for (int k = 0; k < hooks.Length; k++)
        {
            AnswerReadout Side(int slot) => new(acc[k, 2 + slot * 4] / n, acc[k, 3 + slot * 4] / n,
                wrongCount == 0 ? null : acc[k, 4 + slot * 4] / wrongCount, wrongCount == 0 ? null : acc[k, 5 + slot * 4] / wrongCount);
            string hook = hooks[k];
            string name = hook.StartsWith("blocks.", StringComparison.Ordinal)
                ? $"{hook[(hook.LastIndexOf('.') + 1 + "hook_".Length)..]}.{HookNames.BlockOf(hook)}" : hook;
            layers.Add(new LensLayer(name, hook, acc[k, 0] / n, acc[k, 1] / n, Side(0), Side(1)));
        }
        return new LogitLensResult(MetricNames.Of(runs.Task.Metric), runs.CleanMetric, runs.CorruptedMetric, layers);
    }

    /// <summary>The rows [b, d] of a [b, p, d] activation at the last position.</summary>
    internal static float[] LastRows(Tensors.Tensor act, int positions)
    {
        int b = act.Shape[0], d = act.Shape[^1];
        var rows = new float[b * d];
        for (int i = 0; i < b; i++) Array.Copy(act.Data, ((i * positions) + positions - 1) * d, rows, i * d, d);
        return rows;
    }

    private static double LogSumExp(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity;
        foreach (float v in row) max = Math.Max(max, v);
        double z = 0;
        foreach (float v in row) z += Math.Exp(v - max);
        return max + Math.Log(z);
    }

    private static (double Probability, int Rank) Answer(ReadOnlySpan<float> row, double logSumExp, int[] ids)
    {
        double mass = 0;
        float best = float.NegativeInfinity;
        foreach (int id in ids)
        {
            mass += Math.Exp(row[id] - logSumExp);
            best = Math.Max(best, row[id]);
        }
        int rank = 1;
        foreach (float v in row) if (v > best) rank++;
        return (mass, rank);
    }
}

/// <summary>How the answers fare at one layer boundary (means over pairs).</summary>
/// <param name="CorrectProbability">Softmax probability mass of the correct answer set.</param>
/// <param name="CorrectRank">Rank of the best correct answer (1 = the top token).</param>
/// <param name="WrongProbability">Probability mass of the wrong answer set; null when no pair has one.</param>
/// <param name="WrongRank">Rank of the best wrong answer; null when no pair has one.</param>
public sealed record AnswerReadout(double CorrectProbability, double CorrectRank, double? WrongProbability, double? WrongRank);

/// <summary>One layer boundary read by the logit lens.</summary>
/// <param name="Name"><c>resid_pre.{l}</c> or <c>resid_post.{L−1}</c> (the final residual).</param>
/// <param name="HookPoint">The hook point read, e.g. <c>blocks.0.hook_resid_pre</c>.</param>
/// <param name="CleanMetric">The task metric of the clean runs' lens logits, mean over pairs.</param>
/// <param name="CorruptedMetric">The same for the corrupted runs.</param>
/// <param name="Clean">The answers on the clean runs.</param>
/// <param name="Corrupted">The answers on the corrupted runs.</param>
public sealed record LensLayer(string Name, string HookPoint, double CleanMetric, double CorruptedMetric, AnswerReadout Clean, AnswerReadout Corrupted);

/// <summary>The logit lens over a task's layer boundaries (<see cref="LogitLens.Run"/>).</summary>
/// <param name="Metric">The task metric (<c>logit_diff</c>, …).</param>
/// <param name="MetricClean">The model's own clean metric (equals the last boundary's lens metric).</param>
/// <param name="MetricCorrupted">The model's own corrupted metric.</param>
/// <param name="Layers">One entry per boundary, input first.</param>
public sealed record LogitLensResult(string Metric, double MetricClean, double MetricCorrupted, IReadOnlyList<LensLayer> Layers)
{
    /// <summary>What every figure means (<see cref="LogitLens.Conventions"/>).</summary>
    public string Conventions => LogitLens.Conventions;
}
