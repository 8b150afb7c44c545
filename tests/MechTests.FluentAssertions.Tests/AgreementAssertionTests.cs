using FluentAssertions;
using MechTests.Attribution;
using MechTests.Patching;
using Xunit;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// The AtP*-versus-patching claim, checked where the truth is known. On the induction model the three planted edges
/// are the only ones with an effect (−19.66 each; the other 72 exactly 0). On the saturated-attention model the key
/// edge input->a1.h0&lt;k&gt; has effect −10 but a first-order gradient of ≈ 4e−7: EAP ranks it below noise, AtP*'s
/// QK fix recomputes the softmax and finds it.
/// </summary>
public class AgreementAssertionTests
{
    private const string SaturatedKey = "input->a1.h0<k>";

    private static AttributionResult RandomScores(AttributionResult like, int seed)
    {
        var rng = new Random(seed);
        return new AttributionResult(like.Method, like.Aggregation, like.Level, like.Names, [like.Names.Select(_ => rng.NextDouble()).ToArray()]);
    }

    [Fact]
    public void EapRanksThePlantedEdgesOfTheInductionModelFirst()
    {
        var runs = Models.InductionRuns;
        var report = EdgeAttribution.Eap(runs).Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.4, topKRecallAtLeast: 1, topK: 3).Which;
        report.TopKRecall.Should().Be(1);
        report.VerificationCost.Should().Be(3, "the attribution's top 3 are exactly the 3 planted edges");
        report.Count.Should().Be(runs.Graph.Edges.Count);
    }

    [Fact]
    public void AtPStarAgreesWithPatchingOnTheSaturatedKeyWhereEapDoesNot()
    {
        var runs = Models.SaturatedRuns;
        var star = EdgeAttribution.AtPStar(runs).Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.3, topKRecallAtLeast: 1, topK: 2).Which;
        star.MissedTopK.Should().BeEmpty();

        string m = Fails.With(() => EdgeAttribution.Eap(runs).Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.3, topKRecallAtLeast: 1, topK: 2));
        m.Should().Contain("to agree with activation patching, Spearman ≥ 0.3 and top-2 recall ≥ 1, but top-2 recall = 0.5 (required ≥ 1).")
            .And.Contain("Measured over 46 components")
            .And.Contain("Conventions: attribution method=eap; aggregation=signed_mean; level=edge; patching ablation=corrupted-patch")
            .And.Contain("ranking=|score| vs |patching effect|");
        Fails.LinesAfter(m, "the attribution ranked below its top 2").Should().ContainSingle()
            .Which.Should().StartWith(SaturatedKey + "  patching effect -9.99996  attribution score -4.12256E-07  rank 3 of 46");
    }

    [Fact]
    public void AtPStarOverQueriesKeysAndValuesRanksExactlyAsPatching()
    {
        var runs = Models.SaturatedRuns;
        var nodes = NodeSets.Build(Models.Saturated.Config, NodeGranularity.QueryKeyValue);
        var report = NodeAttribution.AtPStar(runs, nodes).Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.99, topKRecallAtLeast: 1, topK: 1).Which;
        report.Spearman.Should().BeApproximately(1, 1e-12, "only a1.h0.k has an effect, and AtP* scores every other node exactly 0");
    }

    [Fact]
    public void RandomScoresFailAndTheMessageNamesTheTrueTopEdgesTheyMissed()
    {
        var runs = Models.InductionRuns;
        string m = Fails.With(() => RandomScores(EdgeAttribution.Eap(runs), 1).Should().AgreeWithActivationPatching(runs, 0.8, 0.8, 3));
        m.Should().Contain("Spearman ≥ 0.8 and top-3 recall ≥ 0.8, but Spearman = ").And.Contain("(required ≥ 0.8) and top-3 recall = 0 (required ≥ 0.8).");
        Fails.LinesAfter(m, "the attribution ranked below its top 3").Select(l => l.Split("  ")[0])
            .Should().BeEquivalentTo(Models.Induction.CircuitEdges);
    }

    [Fact]
    public void SharedPatchingEffectsJudgeSeveralAttributionsAndTheModelOverloadRunsTheTask()
    {
        var runs = Models.SaturatedRuns;
        var truth = EdgePatching.RunEach(runs);
        EdgeAttribution.AtPStar(runs).Should().AgreeWith(truth, spearmanAtLeast: 0.3, topKRecallAtLeast: 1, topK: 2);
        Fails.With(() => EdgeAttribution.Eap(runs).Should().AgreeWith(truth, spearmanAtLeast: 0.3, topKRecallAtLeast: 1, topK: 2)).Should().Contain(SaturatedKey);

        EdgeAttribution.AtPStar(runs).Should()
            .AgreeWithActivationPatching(Models.Saturated.CreateEngine(), Models.Saturated.Task, spearmanAtLeast: 0.3, topKRecallAtLeast: 1, topK: 2)
            .Which.TopKRecall.Should().Be(1);
        Fails.With(() => ((AttributionResult)null!).Should().AgreeWith(truth)).Should().Contain("but found <null>.");
    }
}
