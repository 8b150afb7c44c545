using MechTests.Models;
using MechTests.Tensors;
using MechTests.Training;
using Xunit;

namespace MechTests.Tests.Training;

public class FineTunerTests
{
    [Fact]
    public void CrossEntropyGradientMatchesFiniteDifferences()
    {
        var rng = new Random(1);
        var logits = new Tensor(2, 4, 7);
        for (int i = 0; i < logits.Length; i++) logits.Data[i] = (float)(rng.NextDouble() * 4 - 2);
        var batch = new[] { new[] { 1, 2, 3, 4 }, new[] { 6, 0, 5, 2 } };
        var (loss, d) = FineTuner.CrossEntropy(logits, batch);
        Assert.True(loss > 0);
        for (int idx = 0; idx < logits.Length; idx += 3)
        {
            float orig = logits.Data[idx];
            logits.Data[idx] = orig + 1e-2f;
            double up = FineTuner.CrossEntropy(logits, batch).Loss;
            logits.Data[idx] = orig - 1e-2f;
            double down = FineTuner.CrossEntropy(logits, batch).Loss;
            logits.Data[idx] = orig;
            Assert.Equal((up - down) / 2e-2, d.Data[idx], 1e-3);
        }
    }

    [Fact]
    public void FineTuningOnTheModelsOwnStoriesLowersTheLossAndLeavesTheOriginalUntouched()
    {
        var m = Engine.Stories260KTests.Load();
        var tok = m.Tokenizer!;
        var original = new Transformer(m.Config, m.Weights);
        // Training text: three sampled stories, cut into equal-length windows.
        var text = Enumerable.Range(0, 3).SelectMany(seed => Generator.Generate(original, new[] { tok.BosId!.Value }, 48, temperature: 1f, seed: seed)).ToArray();
        var windows = Enumerable.Range(0, text.Length / 24).Select(i => text.Skip(i * 24).Take(24).ToArray()).ToArray();
        var before = m.Weights.TokenEmbed.ToArray();
        var tuned = new Transformer(m.Config, m.Weights.DeepClone());
        var losses = FineTuner.Run(tuned, windows, new FineTuneOptions { Steps = 12, LearningRate = 3e-3f, BatchSize = 6 });
        Assert.True(losses[^1] < losses[0] * 0.9, $"loss {losses[0]:F3} → {losses[^1]:F3}");
        Assert.Equal(before, m.Weights.TokenEmbed);
        Assert.True(ReferenceEquals(tuned.Weights.Unembed, tuned.Weights.TokenEmbed), "tying survives the clone");
    }
}
