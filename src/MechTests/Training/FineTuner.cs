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
        var adam = new Adam(engine.Weights.Named(), options.Beta1, options.Beta2, options.Epsilon);
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
            using var backward = engine.Backward(pass, dLogits, new BackwardOptions { Gradients = HookFilter.None, WeightGradients = true });
            adam.Step(step, options.LearningRate, backward.WeightGradients!);
        }
        return losses;
    }

    /// <summary>Mean next-token cross-entropy over all predicted positions, and its gradient w.r.t. the logits.</summary>
    public static (double Loss, Tensor DLogits) CrossEntropy(Tensor logits, IReadOnlyList<int[]> batch)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(batch);
        return NextTokenLoss.Compute(logits, batch, null, logits.Shape[0] * (logits.Shape[1] - 1));
    }
}
