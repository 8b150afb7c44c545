using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;
using Xunit;
using Xunit.Abstractions;
using static MechTests.TorchSharp.Tests.Equivalence;

namespace MechTests.TorchSharp.Tests;

/// <summary>
/// The second implementation checks the first: the TorchSharp backend (built-in module on libtorch) against the
/// managed engine on every reference fixture and stories260K — logits, every hook point's activation and gradient,
/// split q/k/v inputs, GradDrop, resumed passes, interventions and the QK-fix projection. Tolerance: max abs error
/// ≤ 1e-4 × the tensor's scale (its largest |value| in the managed run).
/// </summary>
public class BackendEquivalenceTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string> ModelNames => new(ModelList);

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void ActivationsAndGradientsEqualTheManagedEngine(string name)
    {
        var (managed, torch) = Engines(name);
        using var _ = torch;
        var c = managed.Config;
        var tokens = Tokens(c, 2, Math.Min(6, c.MaxPositions), seed: 1);
        var options = new RunOptions { Cache = HookFilter.All, RecordForBackward = true };
        using var mp = managed.Run(tokens, options);
        using var tp = torch.Run(tokens, options);
        double worst = RelativeError(mp.Logits, tp.Logits, "logits");
        Assert.True(worst <= Tolerance, $"{name} logits: relative error {worst:E2}");
        int compared = 0;
        foreach (var hook in mp.Cache.Names)
        {
            double e = RelativeError(mp.Cache[hook], tp.Cache[hook], hook);
            Assert.True(e <= Tolerance, $"{name} {hook}: relative error {e:E2}");
            worst = Math.Max(worst, e);
            compared++;
        }
        Assert.Equal(mp.Cache.Names.Order(), tp.Cache.Names.Order());

        var dLogits = RandomTensor(2, mp.Logits.Shape);
        using var mg = managed.Backward(mp, dLogits, new BackwardOptions());
        using var tg = torch.Backward(tp, dLogits, new BackwardOptions());
        foreach (var hook in mg.Gradients.Names)
        {
            double e = RelativeError(mg.Gradients[hook], tg.Gradients[hook], "d " + hook);
            Assert.True(e <= Tolerance, $"{name} gradient at {hook}: relative error {e:E2}");
            worst = Math.Max(worst, e);
            compared++;
        }
        output.WriteLine($"{name}: {compared} activations and gradients, worst relative error {worst:E2}");
        Assert.True(compared > 40);
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void GradDropAndResumedBackwardEqualTheManagedEngine(string name)
    {
        var (managed, torch) = Engines(name);
        using var _ = torch;
        var c = managed.Config;
        var tokens = Tokens(c, 2, Math.Min(5, c.MaxPositions), seed: 3);
        var run = new RunOptions { RecordForBackward = true };
        using var mp = managed.Run(tokens, run);
        using var tp = torch.Run(tokens, run);
        var dLogits = RandomTensor(4, mp.Logits.Shape);
        var full = managed.Backward(mp, dLogits, new BackwardOptions()).Gradients;
        for (int l = 0; l < c.NLayers; l++)
        {
            var dropped = new BackwardOptions { StopGradientAtLayerWrite = l };
            var resumed = new BackwardOptions { StopGradientAtLayerWrite = l, ResumeFrom = new BackwardResumePoint(l, full[HookNames.ResidPost(l)]) };
            foreach (var (label, o) in new[] { ("drop", dropped), ("drop+resume", resumed) })
            {
                using var mg = managed.Backward(mp, dLogits, o);
                using var tg = torch.Backward(tp, dLogits, o);
                Assert.Equal(mg.Gradients.Names.Order(), tg.Gradients.Names.Order());
                foreach (var hook in mg.Gradients.Names)
                {
                    double e = RelativeError(mg.Gradients[hook], tg.Gradients[hook], $"{label} {l} d {hook}");
                    Assert.True(e <= Tolerance, $"{name} {label} at layer {l}, gradient at {hook}: relative error {e:E2}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void SplitInputsResumeAndInterventionsEqualTheManagedEngine(string name)
    {
        var (managed, torch) = Engines(name);
        using var _ = torch;
        var c = managed.Config;
        int t = Math.Min(5, c.MaxPositions);
        var tokens = Tokens(c, 2, t, seed: 5);
        int last = c.NLayers - 1;
        var replace = RandomTensor(6, 2, t, c.NHeads, c.DModel);
        var add = RandomTensor(7, 2, t, c.DModel);
        var options = new RunOptions
        {
            Cache = HookFilter.All,
            SplitQkvInput = true,
            Interventions =
            {
                Intervention.Replace(HookNames.KInput(0), replace, positions: new[] { 1, 3 }, heads: new[] { 0 }),
                Intervention.Add(HookNames.ResidMid(last), add),
                Intervention.Zero(HookNames.Pattern(last), positions: new[] { t - 1 }, heads: new[] { c.NHeads - 1 }),
                new Intervention(HookNames.MlpPost(0), (x, _) => { for (int i = 0; i < x.Length; i += 3) x.Data[i] *= 0.5f; }),
            },
        };
        if (c.ParallelAttnMlp) options.Interventions[1] = Intervention.Add(HookNames.AttnOut(last), add);
        using var mp = managed.Run(tokens, options);
        using var tp = torch.Run(tokens, options);
        foreach (var hook in mp.Cache.Names)
        {
            double e = RelativeError(mp.Cache[hook], tp.Cache[hook], hook);
            Assert.True(e <= Tolerance, $"{name} split + interventions, {hook}: relative error {e:E2}");
        }
        Assert.True(RelativeError(mp.Logits, tp.Logits, "logits") <= Tolerance);

        // Resumed, last-position-only runs (what patching does).
        var resume = new RunOptions { ResumeFrom = new ResumePoint(last, mp.Cache[HookNames.ResidPre(last)]), LastPositionLogitsOnly = true };
        using var mr = managed.Run(tokens, resume);
        using var tr = torch.Run(tokens, resume);
        Assert.Equal(new[] { 2, 1, c.VocabSize }, tr.Logits.Shape);
        Assert.True(RelativeError(mr.Logits, tr.Logits, "resumed logits") <= Tolerance);

        // The QK fix's projection, for a query and a key head.
        var x = mp.Cache[HookNames.ResidPre(0)];
        foreach (bool key in new[] { false, true })
        {
            var e = RelativeError(managed.ProjectHeadInput(0, c.NHeads - 1, key, x), torch.ProjectHeadInput(0, c.NHeads - 1, key, x), "projection");
            Assert.True(e <= Tolerance, $"{name} ProjectHeadInput(key: {key}): relative error {e:E2}");
        }
    }
}
