using FluentAssertions;
using MechTests.Attribution;
using Xunit;
using Xunit.Sdk;

namespace MechTests.FluentAssertions.Tests;

/// <summary>The AtP*-versus-patching claim and the missed-effect bound, on the planted induction model.</summary>
public class AttributionClaimTests
{
    private static AttributionResult RandomScores(AttributionResult like, int seed)
    {
        var rng = new Random(seed);
        return new AttributionResult(like.Method, like.Aggregation, like.Level, like.Names, [like.Names.Select(_ => rng.NextDouble()).ToArray()]);
    }

    [Fact]
    public void EapFindsEveryTrueTopEdgeFirst()
    {
        var runs = Models.InductionRuns;
        var report = EdgeAttribution.Eap(runs).Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.4, topKRecallAtLeast: 1, topK: 3).Which;
        report.TopKRecall.Should().Be(1);
    }

    [Fact]
    public void RandomScoresFailAgreementAndTheMessageNamesTheTrueTopEdgesTheyMissed()
    {
        var runs = Models.InductionRuns;
        var random = RandomScores(EdgeAttribution.Eap(runs), 1);
        string m = Assert.Throws<XunitException>(() => random.Should().AgreeWithActivationPatching(runs, 0.8, 0.8, 3)).Message;
        m.Should().Contain("Spearman ≥ 0.8 and top-3 recall ≥ 0.8").And.Contain("top-3 recall = 0 (required ≥ 0.8)")
            .And.Contain("a1.h2->logits").And.Contain("a0.h1->a1.h2<k>").And.Contain("input->a0.h1<v>")
            .And.Contain("ranking=|score| vs |patching effect|");
    }

    [Fact]
    public void TheMissedEffectBoundHoldsForEapAndFailsForRandomScoresNamingTheMiss()
    {
        var runs = Models.InductionRuns;
        double theta = 0.1 * (runs.CleanMetric - runs.CorruptedMetric);
        EdgeAttribution.Eap(runs).Should().HaveMissedEffectBoundBelow(runs, 0.1, theta, new MissedEffectOptions { VerifiedTop = 3 })
            .Which.Misses.Should().BeEmpty();
        string m = Assert.Throws<XunitException>(() =>
            RandomScores(EdgeAttribution.Eap(runs), 1).Should().HaveMissedEffectBoundBelow(runs, 0.1, theta, new MissedEffectOptions { VerifiedTop = 3 })).Message;
        m.Should().Contain("outside the verified top 3 have |effect| ≥").And.Contain("Missed effects, largest first").And.Contain("bound=zero-failure 1-α^(1/k), α=0.05");
    }

    [Fact]
    public void TooFewSamplesCannotProveTheBoundAndTheMessageSaysHowManyAreNeeded()
    {
        var runs = Models.InductionRuns;
        double theta = 0.1 * (runs.CleanMetric - runs.CorruptedMetric);
        string m = Assert.Throws<XunitException>(() =>
            EdgeAttribution.Eap(runs).Should().HaveMissedEffectBoundBelow(runs, 0.1, theta, new MissedEffectOptions { VerifiedTop = 3, Samples = 5 })).Message;
        m.Should().Contain("the bound is 0.45072 (required ≤ 0.1) with k = 5 samples").And.Contain("needs k ≥ 29 samples");
    }
}
