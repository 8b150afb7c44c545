using FluentAssertions;
using MechTests.Circuits;
using MechTests.Graphs;
using Xunit;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// The issue's <c>(model, task, atLeast:)</c> form on the embedded stories260K and tasks/name-copy.json, and the
/// checked-in circuits/name-copy.json claim. Exact references: the full graph has faithfulness 1 and the empty circuit
/// 0; with only K = ∅ tried, the incompleteness of a circuit is |f(C) − 1|.
/// </summary>
public class StoriesNameCopyTests
{
    private static CircuitFile Claim() => CircuitFile.Read(Path.Combine(Models.RepoRoot, "circuits", "name-copy.json"));

    [Fact]
    public void TheFullGraphIsFaithfulAndTheEmptyCircuitIsNotWithTheEdgesToLookAt()
    {
        var graph = ComputeGraph.For(Models.Stories.Config);
        Circuit.Full(graph).Should().BeFaithful(Models.Stories, Models.NameCopy, atLeast: 0.9999).Which.Value.Should().BeApproximately(1, 1e-4);

        string m = Fails.With(() => Circuit.Empty(graph).Should().BeFaithful(Models.Stories, Models.NameCopy, atLeast: 0.8));
        var runs = Models.StoriesRuns;
        m.Should().Contain("to be faithful, f(C) ≥ 0.8, but f(C) = ")
            .And.Contain($"L(clean) = {runs.CleanMetric.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}")
            .And.Contain(Models.EdgeConventions).And.Contain("(5 layers × 8 heads): no edges");
        string topEap = MechTests.Attribution.EdgeAttribution.Eap(runs).Scores.MaxBy(kv => Math.Abs(kv.Value)).Key;
        Fails.LinesAfter(m, "Edges outside the circuit with the largest |EAP| score")[0].Should().StartWith(topEap + "  ");
    }

    [Fact]
    public void TheCheckedInClaimHoldsOnItsOwnTaskAndAStricterOneFailsWithTheMeasuredValue()
    {
        var claim = Claim();
        double f = claim.Should().BeFaithful(Models.Stories, atLeast: 0.85).Which.Value;
        f.Should().BeApproximately(claim.Metrics["faithfulness"].Value, 1e-4);
        claim.Should().PerformTheRecordedTask(Models.Stories, keepingAtLeast: 0.99);
        Fails.With(() => claim.Should().BeFaithful(Models.Stories, atLeast: 0.99)).Should().Contain("f(C) ≥ 0.99, but f(C) = 0.9137");

        var onlyEmpty = new CompletenessOptions { RandomSets = 0, GreedySteps = 0 };
        claim.Should().BeComplete(Models.Stories, maxIncompleteness: 0.1, onlyEmpty).Which.WorstNormalized.Should().BeApproximately(1 - f, 1e-6);
        Fails.With(() => claim.Should().BeComplete(Models.Stories, maxIncompleteness: 0.05, onlyEmpty)).Should().Contain("for K = ∅ (found by the empty search)");
    }

    [Fact]
    public void AClaimIsRefusedOnAModelItWasNotWrittenFor()
    {
        var tampered = Claim().ForModel(Claim().Model with { WeightsSha256 = new string('0', 64) });
        Fails.With(() => tampered.Should().BeFaithful(Models.Stories, Models.NameCopy, atLeast: 0.5))
            .Should().Contain("it was written for another model").And.Contain("weightsSha256");
    }
}
