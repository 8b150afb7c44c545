using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;

namespace MechTests.Training;

/// <summary>Settings of a short fine-tuning run.</summary>
public sealed record FineTuneOptions
{
    /// <summary>Optimiser steps.</summary>
    public int Steps { get; init; } = 20;
    /// <summary>Adam learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Sequences per step (taken round-robin from the data, grouped by length).</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Adam β1.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>Adam β2.</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>Adam ε.</summary>
    public float Epsilon { get; init; } = 1e-8f;
}

/// <summary>
/// Fine-tunes a model in place with next-token cross-entropy and Adam, using the engine's exact weight gradients.
/// Deterministic for given data and options. Used to show that circuit checks catch a mechanism that fine-tuning
/// broke, and pass when it did not.
/// </summary>
/// <example><code>
/// var tuned = model.Weights.DeepClone();
/// var engine = new Transformer(model.Config, tuned);
/// var losses = FineTuner.Run(engine, sequences, new FineTuneOptions { Steps = 30, LearningRate = 3e-3f });
/// </code></example>
public static class FineTuner
{
    /// <summary>Runs the steps; returns the mean loss (nats per predicted token) before each step.</summary>
    public static IReadOnlyList<double> Run(Transformer engine, IReadOnlyList<int[]> sequences, FineTuneOptions options)
    {
        if (sequences.Count == 0) throw new ArgumentException("No training sequences.");
        if (sequences.Any(s => s.Length < 2)) throw new ArgumentException("Every training sequence needs at least 2 tokens.");
        var groups = sequences.GroupBy(s => s.Length).Select(g => g.ToArray()).ToArray();
        var weights = engine.Weights.Named().ToDictionary(x => x.Name, x => x.Value);
        var m = weights.ToDictionary(kv => kv.Key, kv => new float[kv.Value.Length]);
        var v = weights.ToDictionary(kv => kv.Key, kv => new float[kv.Value.Length]);
        var losses = new List<double>();
        int cursor = 0;
        for (int step = 1; step <= options.Steps; step++)
        {
            var group = groups[(step - 1) % groups.Length];
            var batch = Enumerable.Range(0, Math.Min(options.BatchSize, group.Length)).Select(i => group[(cursor + i) % group.Length]).ToArray();
            cursor += batch.Length;
            using var pass = engine.Run(batch, new RunOptions { RecordForBackward = true });
            var (loss, dLogits) = CrossEntropy(pass.Logits, batch);
            losses.Add(loss);
            var grads = engine.Backward(pass, dLogits, new BackwardOptions { Gradients = HookFilter.None, WeightGradients = true }).WeightGradients!;
            float b1t = 1 - MathF.Pow(options.Beta1, step), b2t = 1 - MathF.Pow(options.Beta2, step);
            foreach (var (name, w) in weights)
            {
                if (!grads.TryGetValue(name, out var g)) continue;
                var mm = m[name];
                var vv = v[name];
                for (int i = 0; i < w.Length; i++)
                {
                    mm[i] = options.Beta1 * mm[i] + (1 - options.Beta1) * g[i];
                    vv[i] = options.Beta2 * vv[i] + (1 - options.Beta2) * g[i] * g[i];
                    w[i] -= options.LearningRate * (mm[i] / b1t) / (MathF.Sqrt(vv[i] / b2t) + options.Epsilon);
                }
            }
        }
        return losses;
    }

    /// <summary>Mean next-token cross-entropy over all predicted positions, and its gradient w.r.t. the logits.</summary>
    public static (double Loss, Tensor DLogits) CrossEntropy(Tensor logits, IReadOnlyList<int[]> batch)
    {
        int b = logits.Shape[0], t = logits.Shape[1], vocab = logits.Shape[2];
        var d = new Tensor(logits.Shape);
        double total = 0;
        int count = b * (t - 1);
        for (int i = 0; i < b; i++)
        for (int p = 0; p < t - 1; p++)
        {
            int off = (i * t + p) * vocab;
            var z = logits.Data.AsSpan(off, vocab);
            float max = float.NegativeInfinity;
            foreach (float x in z) max = Math.Max(max, x);
            double sum = 0;
            foreach (float x in z) sum += Math.Exp(x - max);
            double lse = max + Math.Log(sum);
            int target = batch[i][p + 1];
            total += lse - z[target];
            for (int j = 0; j < vocab; j++) d.Data[off + j] = (float)(Math.Exp(z[j] - lse) / count);
            d.Data[off + target] -= 1f / count;
        }
        return (total / count, d);
    }
}
