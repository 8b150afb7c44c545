using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;
using Xunit;

namespace MechTests.Tests.Engine;

public class EngineBehaviourTests
{
    [Theory]
    [MemberData(nameof(FiniteDifferenceTests.Families), MemberType = typeof(FiniteDifferenceTests))]
    public void ResumingFromACachedResidualReproducesTheFullRunBitForBit(string family)
    {
        var (engine, tokens, _) = FiniteDifferenceTests.Setup(family);
        var full = engine.Run(tokens, new RunOptions { Cache = HookFilter.Only(HookNames.ResidPre(1)) });
        var resumed = engine.Run(tokens, new RunOptions { ResumeFrom = new ResumePoint(1, full.Cache[HookNames.ResidPre(1)]) });
        Assert.Equal(full.Logits.Data, resumed.Logits.Data);
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceTests.Families), MemberType = typeof(FiniteDifferenceTests))]
    public void LastPositionLogitsAreTheFullRunsLastRowsBitForBit(string family)
    {
        var (engine, tokens, _) = FiniteDifferenceTests.Setup(family);
        int b = tokens.Length, t = tokens[0].Length, v = engine.Config.VocabSize;
        Assert.True(b > 1, "several prompts, so rows of different prompts could be mixed up");
        using var full = engine.Run(tokens, RunOptions.Default);
        using var last = engine.Run(tokens, new RunOptions { LastPositionLogitsOnly = true });
        Assert.Equal(new[] { b, 1, v }, last.Logits.Shape);
        for (int i = 0; i < b; i++)
            Assert.Equal(full.Logits.Data.AsSpan((i * t + t - 1) * v, v).ToArray(), last.Logits.Data.AsSpan(i * v, v).ToArray());
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceTests.Families), MemberType = typeof(FiniteDifferenceTests))]
    public void CacheHoldsExactlyTheRequestedHooksWithDocumentedShapes(string family)
    {
        var (engine, tokens, _) = FiniteDifferenceTests.Setup(family);
        var c = engine.Config;
        var pass = engine.Run(tokens, new RunOptions { Cache = HookFilter.All });
        Assert.Equal(engine.AllHookNames().OrderBy(x => x), pass.Cache.Names.OrderBy(x => x));
        Assert.Equal(new[] { 2, 5, c.NHeads, c.DModel }, pass.Cache[HookNames.Result(0)].Shape);
        Assert.Equal(new[] { 2, 5, c.NKvHeads, c.DHead }, pass.Cache[HookNames.K(1)].Shape);
        Assert.Equal(new[] { 2, c.NHeads, 5, 5 }, pass.Cache[HookNames.Pattern(1)].Shape);
        Assert.Equal(new[] { 2, 5, c.NHeads, c.DModel }, pass.Cache[HookNames.QInput(0)].Shape);
        Assert.Equal(new[] { 2, 5, c.DMlp }, pass.Cache[HookNames.MlpPost(1)].Shape);
        // Pattern rows are probability distributions over earlier positions.
        var p = pass.Cache[HookNames.Pattern(0)];
        for (int row = 0; row < 2 * c.NHeads * 5; row++)
        {
            int q = row % 5;
            double sum = 0;
            for (int k = 0; k < 5; k++)
            {
                float v = p.Data[row * 5 + k];
                if (k > q) Assert.Equal(0f, v);
                sum += v;
            }
            Assert.True(Math.Abs(sum - 1.0) < 1e-5, $"pattern row {row} sums to {sum}");
        }
        // attn_out is the sum of the head results plus the output bias.
        var sumHeads = pass.Cache[HookNames.Result(1)];
        var attnOut = pass.Cache[HookNames.AttnOut(1)];
        var bo = engine.Weights.Layers[1].Bo;
        for (int r = 0; r < 10; r++)
        for (int j = 0; j < c.DModel; j++)
        {
            double s = bo?[j] ?? 0;
            for (int h = 0; h < c.NHeads; h++) s += sumHeads.Data[(r * c.NHeads + h) * c.DModel + j];
            Assert.True(Math.Abs(s - attnOut.Data[r * c.DModel + j]) < 1e-4, $"attn_out[{r},{j}]: {attnOut.Data[r * c.DModel + j]} vs Σ results {s}");
        }
        Assert.Single(engine.Run(tokens, new RunOptions { Cache = HookFilter.Only(HookNames.Z(0)) }).Cache.Names);
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceTests.Families), MemberType = typeof(FiniteDifferenceTests))]
    public void PatchingTheWholeInputReproducesTheOtherRunExactly(string family)
    {
        var (engine, tokens, _) = FiniteDifferenceTests.Setup(family);
        var other = new[] { new[] { 8, 8, 1, 0, 30 }, new[] { 4, 12, 6, 19, 25 } };
        var cache = HookFilter.Only(HookNames.Embed);
        var otherPass = engine.Run(other, new RunOptions { Cache = cache });
        var patched = engine.Run(tokens, new RunOptions { Interventions = { Intervention.Replace(HookNames.Embed, otherPass.Cache[HookNames.Embed]) } });
        Assert.Equal(otherPass.Logits.Data, patched.Logits.Data);
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceTests.Families), MemberType = typeof(FiniteDifferenceTests))]
    public void StoppingTheGradientAtALayerWriteLeavesOnlyTheSkipPath(string family)
    {
        var (engine, tokens, r) = FiniteDifferenceTests.Setup(family);
        var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true });
        var full = engine.Backward(pass, r, new BackwardOptions()).Gradients;
        var dropped = engine.Backward(pass, r, new BackwardOptions { StopGradientAtLayerWrite = 1 }).Gradients;
        Assert.All(dropped[HookNames.Result(1)].Data, v => Assert.Equal(0f, v));
        Assert.All(dropped[HookNames.MlpOut(1)].Data, v => Assert.Equal(0f, v));
        Assert.Equal(dropped[HookNames.ResidPost(1)].Data, dropped[HookNames.ResidPre(1)].Data);
        Assert.Equal(full[HookNames.ResidPost(1)].Data, dropped[HookNames.ResidPost(1)].Data);
        Assert.NotEqual(full[HookNames.ResidPre(1)].Data, dropped[HookNames.ResidPre(1)].Data);
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceTests.Families), MemberType = typeof(FiniteDifferenceTests))]
    public void ABackwardResumedAtAResidPostEqualsTheWholeStoppedPassBelowIt(string family)
    {
        var (engine, tokens, r) = FiniteDifferenceTests.Setup(family);
        var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true, SplitQkvInput = true });
        var full = engine.Backward(pass, r, new BackwardOptions()).Gradients;
        for (int l = 0; l < engine.Config.NLayers; l++)
        {
            var stopped = engine.Backward(pass, r, new BackwardOptions { StopGradientAtLayerWrite = l }).Gradients;
            var resumed = engine.Backward(pass, r, new BackwardOptions
            {
                StopGradientAtLayerWrite = l,
                ResumeFrom = new BackwardResumePoint(l, full[HookNames.ResidPost(l)]),
            }).Gradients;
            var below = stopped.Names.Where(n => HookNames.BlockOf(n) <= l).ToList();
            Assert.Contains(HookNames.Embed, below);
            Assert.Equal(below.OrderBy(x => x), resumed.Names.OrderBy(x => x));
            foreach (var name in below) Assert.Equal(stopped[name].Data, resumed[name].Data);
            Assert.DoesNotContain(HookNames.Logits, resumed.Names);
        }
    }

    [Fact]
    public void AResumedBackwardRefusesWeightGradientsAndMisshapenGradients()
    {
        var (engine, tokens, r) = FiniteDifferenceTests.Setup("gpt2");
        var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true });
        var good = new Tensor(2, 5, engine.Config.DModel);
        var e1 = Assert.Throws<ArgumentException>(() => engine.Backward(pass, r,
            new BackwardOptions { WeightGradients = true, ResumeFrom = new BackwardResumePoint(0, good) }));
        Assert.Contains("weight gradients", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => engine.Backward(pass, r,
            new BackwardOptions { ResumeFrom = new BackwardResumePoint(0, new Tensor(2, 4, engine.Config.DModel)) }));
        Assert.Contains("[2, 5, " + engine.Config.DModel + "]", e2.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Backward(pass, r,
            new BackwardOptions { ResumeFrom = new BackwardResumePoint(engine.Config.NLayers, good) }));
    }

    [Theory]
    [InlineData("blocks.3.attn.hook_z", 3)]
    [InlineData("blocks.11.hook_resid_post", 11)]
    [InlineData("hook_embed", -1)]
    [InlineData("hook_pos_embed", -1)]
    [InlineData("ln_final.hook_normalized", int.MaxValue)]
    [InlineData("hook_logits", int.MaxValue)]
    public void EveryHookNameKnowsItsBlock(string name, int block) => Assert.Equal(block, HookNames.BlockOf(name));

    [Fact]
    public void BadInputsGetErrorsThatNameTheProblem()
    {
        var (engine, _, _) = FiniteDifferenceTests.Setup("gpt2");
        var e1 = Assert.Throws<ArgumentException>(() => engine.Run(new[] { new[] { 1, 2, 3 }, new[] { 1, 2 } }, RunOptions.Default));
        Assert.Contains("Prompt 1 has 2 tokens but prompt 0 has 3", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => engine.Run(new[] { new[] { 1, 99 } }, RunOptions.Default));
        Assert.Contains("token id 99", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => engine.Run(new[] { new[] { 1, 2 } },
            new RunOptions { Interventions = { Intervention.Zero("blocks.0.attn.hook_reslt") } }));
        Assert.Contains("'blocks.0.attn.hook_reslt'", e3.Message);
        var pass = engine.Run(new[] { new[] { 1, 2 } }, RunOptions.Default);
        var e4 = Assert.Throws<InvalidOperationException>(() => engine.Backward(pass, new Tensor(1, 2, 50), new BackwardOptions()));
        Assert.Contains("RecordForBackward", e4.Message);
        var e5 = Assert.Throws<KeyNotFoundException>(() => pass.Cache[HookNames.Z(0)]);
        Assert.Contains("blocks.0.attn.hook_z", e5.Message);
    }

    [Fact]
    public void ReplacingSelectedHeadsAndPositionsTouchesOnlyThose()
    {
        var (engine, tokens, _) = FiniteDifferenceTests.Setup("llama");
        var name = HookNames.Result(0);
        var clean = engine.Run(tokens, new RunOptions { Cache = HookFilter.Only(name) }).Cache[name];
        var zeros = new Tensor(clean.Shape);
        var patched = engine.Run(tokens, new RunOptions
        {
            Cache = HookFilter.Only(name),
            Interventions = { Intervention.Replace(name, zeros, positions: new[] { 2 }, heads: new[] { 1, 3 }) },
        }).Cache[name];
        int h = engine.Config.NHeads, d = engine.Config.DModel;
        for (int b = 0; b < 2; b++)
        for (int p = 0; p < 5; p++)
        for (int hh = 0; hh < h; hh++)
        {
            bool hit = p == 2 && (hh == 1 || hh == 3);
            for (int j = 0; j < d; j++)
            {
                int i = ((b * 5 + p) * h + hh) * d + j;
                Assert.Equal(hit ? 0f : clean.Data[i], patched.Data[i]);
            }
        }
    }
}
