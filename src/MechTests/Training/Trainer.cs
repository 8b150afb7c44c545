using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;

namespace MechTests.Training;

/// <summary>
/// One batch of training sequences (all of one length) and which predictions count in the loss:
/// <c>LossMask[i][p]</c> is true when position <c>p</c>'s prediction of token <c>p + 1</c> is scored.
/// </summary>
/// <param name="Tokens">The sequences, each of the same length.</param>
/// <param name="LossMask">Per sequence, one flag per position (the last position's flag is ignored).</param>
public sealed record TrainingBatch(int[][] Tokens, bool[][] LossMask);

/// <summary>Settings of a from-scratch training run (Adam, linear warmup then constant learning rate).</summary>
public sealed record TrainOptions
{
    /// <summary>Optimiser steps.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Peak Adam learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Steps over which the learning rate rises linearly from LearningRate/WarmupSteps to LearningRate.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Adam β1.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>Adam β2.</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>Adam ε.</summary>
    public float Epsilon { get; init; } = 1e-8f;
}

/// <summary>The trained weights and the loss before each step.</summary>
/// <param name="Weights">The weights after the last step.</param>
/// <param name="Losses">Mean masked cross-entropy (nats per scored prediction) of each step's batch, before the step.</param>
public sealed record TrainingResult(ModelWeights Weights, IReadOnlyList<double> Losses);

/// <summary>
/// Trains a model from scratch with the engine's exact weight gradients: GPT-2 initialisation, cross-entropy on the
/// positions a batch's loss mask selects, Adam with linear warmup. Deterministic for a seed: the same seed, options and
/// data sampler give bit-identical weights.
/// </summary>
/// <example><code>
/// var recipe = TrainingRecipes.Get("induction");
/// TrainingResult r = Trainer.Train(recipe.Config, recipe.Sample, recipe.Options, seed: 0);
/// </code></example>
public static class Trainer
{
    /// <summary>
    /// GPT-2's initialisation: every projection and embedding ~ N(0, 0.02²), the output projections of attention and
    /// MLP ~ N(0, (0.02/√(2·n_layer))²), biases 0, norm weights 1. Deterministic for a seed.
    /// </summary>
    /// <example><code>ModelWeights w = Trainer.InitGpt2(config, seed: 0);</code></example>
    public static ModelWeights InitGpt2(ModelConfig c, int seed)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.Architecture != Architecture.Gpt2) throw new ArgumentException($"InitGpt2 needs a GPT-2 config, got {c.Architecture}.");
        var rng = new Random(seed);
        float[] Normal(int count, float std) => NormalSampler.Sample(rng, count, std);
        static float[] Fill(int count, float value) { var a = new float[count]; Array.Fill(a, value); return a; }
        int d = c.DModel, hd = c.NHeads * c.DHead;
        const float std = 0.02f;
        float projStd = std / MathF.Sqrt(2 * c.NLayers);
        var embed = Normal(c.VocabSize * d, std);
        var pos = Normal(c.MaxPositions * d, 0.01f);
        var layers = new LayerWeights[c.NLayers];
        for (int l = 0; l < c.NLayers; l++)
        {
            layers[l] = new LayerWeights
            {
                Ln1Weight = Fill(d, 1), Ln1Bias = new float[d], Ln2Weight = Fill(d, 1), Ln2Bias = new float[d],
                Wq = Normal(d * hd, std), Bq = new float[hd], Wk = Normal(d * hd, std), Bk = new float[hd],
                Wv = Normal(d * hd, std), Bv = new float[hd], Wo = Normal(hd * d, projStd), Bo = new float[d],
                WIn = Normal(d * c.DMlp, std), BIn = new float[c.DMlp], WOut = Normal(c.DMlp * d, projStd), BOut = new float[d],
            };
        }
        return new ModelWeights
        {
            TokenEmbed = embed, PosEmbed = pos, Layers = layers,
            LnFinalWeight = Fill(d, 1), LnFinalBias = new float[d],
            Unembed = c.TiedEmbeddings ? embed : Normal(c.VocabSize * d, std),
        };
    }

    /// <summary>
    /// Trains a freshly initialised model (<see cref="InitGpt2"/> with <paramref name="seed"/>) on batches drawn by
    /// <paramref name="sample"/> from a generator seeded with <paramref name="seed"/> + 1.
    /// </summary>
    /// <param name="config">The model shape (GPT-2).</param>
    /// <param name="sample">Draws one batch of the given size.</param>
    /// <param name="options">Optimiser settings.</param>
    /// <param name="seed">Seeds the initialisation and the data.</param>
    /// <param name="progress">Called after each step with the step number (1-based) and its loss.</param>
    public static TrainingResult Train(ModelConfig config, Func<Random, int, TrainingBatch> sample, TrainOptions options, int seed,
        Action<int, double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Steps < 0 || options.BatchSize < 1 || options.WarmupSteps < 0)
            throw new ArgumentException($"Steps must be ≥ 0, BatchSize ≥ 1 and WarmupSteps ≥ 0 (got {options.Steps}, {options.BatchSize}, {options.WarmupSteps}).");
        var weights = InitGpt2(config, seed);
        var engine = new Transformer(config, weights);
        var data = new Random(seed + 1);
        var adam = new Adam(weights.Named(), options.Beta1, options.Beta2, options.Epsilon);
        var losses = new List<double>(options.Steps);
        for (int step = 1; step <= options.Steps; step++)
        {
            var batch = sample(data, options.BatchSize);
            using var pass = engine.Run(batch.Tokens, new RunOptions { RecordForBackward = true });
            var (loss, dLogits) = CrossEntropy(pass.Logits, batch);
            losses.Add(loss);
            using var backward = engine.Backward(pass, dLogits, new BackwardOptions { Gradients = HookFilter.None, WeightGradients = true });
            float lr = options.WarmupSteps > 0 && step <= options.WarmupSteps ? options.LearningRate * step / options.WarmupSteps : options.LearningRate;
            adam.Step(step, lr, backward.WeightGradients!);
            progress?.Invoke(step, loss);
        }
        return new TrainingResult(weights, losses);
    }

    /// <summary>
    /// Mean next-token cross-entropy over the predictions the batch's loss mask selects, and its gradient w.r.t. the
    /// logits (zero at unscored positions).
    /// </summary>
    /// <exception cref="ArgumentException">The mask selects nothing, or its shape does not match the tokens.</exception>
    public static (double Loss, Tensor DLogits) CrossEntropy(Tensor logits, TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(batch);
        int b = logits.Shape[0], t = logits.Shape[1];
        if (batch.Tokens.Length != b || batch.LossMask.Length != b || batch.LossMask.Any(x => x.Length != t))
            throw new ArgumentException($"The loss mask must have one flag per position of each of the {b} sequences of {t} tokens.");
        int count = 0;
        for (int i = 0; i < b; i++)
            for (int p = 0; p < t - 1; p++)
                if (batch.LossMask[i][p]) count++;
        if (count == 0) throw new ArgumentException("The loss mask selects no prediction.");
        return NextTokenLoss.Compute(logits, batch.Tokens, batch.LossMask, count);
    }
}
