using MechTests.GroundTruth;
using MechTests.Patching;
using MechTests.Semantics;
using Xunit;

namespace MechTests.Tests.Semantics;

/// <summary>Head scores and DLA on the planted induction model (mechanism known by construction), and bad input.</summary>
public class SemanticsBehaviourTests
{
    [Fact]
    public void HeadScoresFindThePlantedPreviousTokenAndInductionHeads()
    {
        var m = GroundTruthModels.Induction(InductionCorruption.EarlierToken);
        var engine = m.CreateEngine();
        var repeats = RepeatedTokens.Generate(m.Config, period: 3, count: 32, seed: 1);
        var prev = HeadScores.PreviousToken(engine, repeats.Sequences);
        var induction = HeadScores.Induction(engine, repeats);
        // a0.h1's previous-token logit is 30 against 0: softmax gives 1 − O(p·e^−30).
        Assert.Equal("a0.h1", prev.Best.Name);
        Assert.True(prev["a0.h1"] > 0.999, $"previous-token score {prev["a0.h1"]}");
        // a1.h1 copies the induction head's QK circuit (with W_O = 0): the same pattern, so the same score; a pattern
        // score cannot tell them apart, DLA can (below).
        Assert.Equal(new[] { "a1.h1", "a1.h2" }, induction.Ranked().Take(2).Select(x => x.Name).Order());
        Assert.Equal(induction["a1.h2"], induction["a1.h1"], 6);
        Assert.True(induction["a1.h2"] > 0.5, $"induction score {induction["a1.h2"]}");
        Assert.True(induction["a0.h1"] < 0.2, $"the previous-token head is no induction head: {induction["a0.h1"]}");
    }

    [Fact]
    public void DlaOfThePlantedInductionModelIsCarriedByTheInductionHead()
    {
        var m = GroundTruthModels.Induction(InductionCorruption.EarlierToken);
        using var runs = TaskRuns.Create(m.CreateEngine(), m.Task);
        var dla = DirectLogitAttribution.Run(runs, m.Weights);
        var top = dla.Scores.OrderByDescending(s => s.Value).First();
        Assert.Equal("a1.h2", top.Key);
        // Heads with W_O = 0 write nothing: their direct effect is exactly 0.
        Assert.Equal(0, dla.Scores["a1.h1"]);
        Assert.True(Math.Abs(dla.Total - runs.CleanMetric) < 1e-4, $"{dla.Total} vs {runs.CleanMetric}");
    }

    [Fact]
    public void RepeatedTokensAreSeededRepeatsWithoutSpecialTokens()
    {
        var m = GroundTruthModels.Induction(InductionCorruption.EarlierToken);
        var a = RepeatedTokens.Generate(m.Config, period: 3, count: 50, seed: 7);
        var b = RepeatedTokens.Generate(m.Config, period: 3, count: 50, seed: 7);
        Assert.Equal(a.Sequences, b.Sequences);
        foreach (var s in a.Sequences)
        {
            Assert.Equal(7, s.Length);
            Assert.Equal(0, s[0]); // BOS
            Assert.Equal(s[1..4], s[4..7]);
            Assert.DoesNotContain(0, s[1..]);
        }
        var ex = Assert.Throws<ArgumentException>(() => RepeatedTokens.Generate(m.Config, period: 5));
        Assert.Contains("11 tokens exceed the model's 8 positions", ex.Message);
    }

    [Fact]
    public void BadInputIsNamed()
    {
        var m = GroundTruthModels.Induction(InductionCorruption.EarlierToken);
        using var runs = TaskRuns.Create(m.CreateEngine(), m.Task);
        var qkv = Assert.Throws<ArgumentException>(() => DirectLogitAttribution.Run(runs, m.Weights, NodeGranularity.QueryKeyValue));
        Assert.Contains("no direct path to the logits", qkv.Message);
        var table = HeadScores.PreviousToken(m.CreateEngine(), new[] { new[] { 0, 1, 2 } });
        var head = Assert.Throws<ArgumentException>(() => table["a2.h0"]);
        Assert.Contains("layer 0..1 and head 0..2", head.Message);
        var dla = DirectLogitAttribution.Run(runs, m.Weights);
        var missing = Assert.Throws<KeyNotFoundException>(() => dla.Score("a9.h9"));
        Assert.Contains("No component 'a9.h9'", missing.Message);
        var pos = Assert.Throws<ArgumentException>(() => HeadScores.AttentionToPosition(m.CreateEngine(), new[] { new[] { 0, 1, 2 } }, new[] { 3 }));
        Assert.Contains("prompt 0: position 3 is outside its 3 tokens", pos.Message);
    }
}
