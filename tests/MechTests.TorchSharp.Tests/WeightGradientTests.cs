using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;
using MechTests.TorchSharp.Backend;
using Xunit;
using Xunit.Abstractions;
using static MechTests.TorchSharp.Tests.Equivalence;

namespace MechTests.TorchSharp.Tests;

/// <summary>
/// Weight gradients on the TorchSharp backend come from autograd through the built-in module; the managed engine's
/// come from its hand-written backward pass. They must agree to ≤ 1e-4 of each weight gradient's scale (its largest
/// |value|, at least 1e-3 of the model's largest), under the same
/// names, on every reference fixture (GPT-2 with tied embeddings, GPT-NeoX, Llama with grouped-query attention) and
/// stories260K.
/// </summary>
public class WeightGradientTests(ITestOutputHelper output)
{
    public static TheoryData<string> ModelNames => new(ModelList);

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void WeightGradientsEqualTheManagedEngines(string name)
    {
        var (managed, torch) = Engines(name);
        using var _ = torch;
        var tokens = Tokens(managed.Config, 2, Math.Min(6, managed.Config.MaxPositions), seed: 5);
        var record = new RunOptions { RecordForBackward = true };
        var weights = new BackwardOptions { Gradients = HookFilter.None, WeightGradients = true };
        using var mp = managed.Run(tokens, record);
        using var tp = torch.Run(tokens, record);
        var dLogits = RandomTensor(3, mp.Logits.Shape);
        using var mg = managed.Backward(mp, dLogits, weights);
        using var tg = torch.Backward(tp, dLogits, weights);

        Assert.Equal(mg.WeightGradients!.Keys.Order(StringComparer.Ordinal), tg.WeightGradients!.Keys.Order(StringComparer.Ordinal));
        // The key bias's gradient is exactly zero in exact arithmetic (q·b_K shifts every key's score of a query alike,
        // which softmax ignores), so both engines hold float noise there: errors are measured against the larger of the
        // tensor's scale and 1e-3 of the largest weight gradient of the model.
        double modelScale = mg.WeightGradients.Values.SelectMany(g => g).Max(v => Math.Abs(v));
        double worst = 0;
        foreach (var (key, expected) in mg.WeightGradients)
        {
            var actual = tg.WeightGradients[key];
            Assert.Equal(expected.Length, actual.Length);
            double scale = Math.Max(expected.Max(v => Math.Abs(v)), 1e-3 * modelScale);
            double e = expected.Zip(actual, (x, y) => Math.Abs(x - y)).Max() / scale;
            Assert.True(e <= 1e-4, $"{name} d{key}: max |difference| {e * scale:E2} against a scale of {scale:E2} ({e:E2})");
            worst = Math.Max(worst, e);
        }
        output.WriteLine($"{name}: {mg.WeightGradients.Count} weight gradients, worst relative error {worst:E2}");
        Assert.Contains(mg.WeightGradients.Values, g => g.Any(v => v != 0));
    }

    /// <summary>
    /// A recorded pass keeps the weights outside autograd (attribution never pays for weight gradients); asking for
    /// them re-runs the pass with its interventions, so they are still the managed engine's — here with a head zeroed
    /// and hook-point gradients asked for in the same backward pass — and the weights are left outside autograd after.
    /// </summary>
    [Fact]
    public void WeightGradientsOfAnIntervenedPassComeFromItsRerun()
    {
        var (managed, torch) = Engines("gpt2");
        using var _ = torch;
        var builtIn = (MechTests.TorchSharp.Modules.BuiltInTransformer)torch.Model;
        var tokens = Tokens(managed.Config, 2, 5, seed: 7);
        var record = new RunOptions { RecordForBackward = true, Interventions = { Intervention.Zero(HookNames.Z(0), heads: new[] { 1 }) } };
        var both = new BackwardOptions { Gradients = HookFilter.Only(HookNames.ResidPre(0), HookNames.Result(1)), WeightGradients = true };
        using var mp = managed.Run(tokens, record);
        using var tp = torch.Run(tokens, record);
        Assert.False(builtIn.WeightsRequireGrad);
        // The caller's list changing after the run does not change the pass Backward re-runs.
        record.Interventions.Clear();
        var dLogits = RandomTensor(9, mp.Logits.Shape);
        using var mg = managed.Backward(mp, dLogits, both);
        using var tg = torch.Backward(tp, dLogits, both);
        Assert.False(builtIn.WeightsRequireGrad);

        double modelScale = mg.WeightGradients!.Values.SelectMany(g => g).Max(v => Math.Abs(v));
        foreach (var (key, expected) in mg.WeightGradients)
        {
            var actual = tg.WeightGradients![key];
            double scale = Math.Max(expected.Max(v => Math.Abs(v)), 1e-3 * modelScale);
            double e = expected.Zip(actual, (x, y) => Math.Abs(x - y)).Max() / scale;
            Assert.True(e <= 1e-4, $"d{key}: {e:E2} of its scale {scale:E2}");
        }
        // Zeroing head 1 of layer 0 cuts its W_O slice off from the metric: exactly zero there in both engines.
        var cfg = managed.Config;
        var wo = tg.WeightGradients!["blocks.0.attn.W_O"];
        Assert.All(Enumerable.Range(cfg.DHead * cfg.DModel, cfg.DHead * cfg.DModel), i => Assert.Equal(0f, wo[i]));
        foreach (var name in new[] { HookNames.ResidPre(0), HookNames.Result(1) })
            Assert.True(RelativeError(mg.Gradients[name], tg.Gradients[name], name) <= 1e-4, name);
    }

    [Fact]
    public void WeightGradientsAreThoseOfTheWholePassOnly()
    {
        using var torch = TorchSharpBackend.Load(Load("gpt2"), Options);
        using var pass = torch.Run(Tokens(torch.Config, 1, 3, seed: 1), new RunOptions { RecordForBackward = true });
        var dLogits = RandomTensor(1, 1, 3, torch.Config.VocabSize);
        var e = Assert.Throws<ArgumentException>(() => torch.Backward(pass, dLogits, new BackwardOptions { WeightGradients = true, StopGradientAtLayerWrite = 0 }));
        Assert.Contains("cannot be combined with ResumeFrom or StopGradientAtLayerWrite", e.Message);
    }
}
