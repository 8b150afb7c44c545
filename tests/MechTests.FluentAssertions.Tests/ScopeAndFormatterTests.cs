using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Formatting;
using MechTests.Attribution;
using MechTests.Circuits;
using MechTests.Patching;
using Xunit;

namespace MechTests.FluentAssertions.Tests;

/// <summary>AssertionScope collects every failed claim of a test; the formatters make circuits and results readable.</summary>
public class ScopeAndFormatterTests
{
    [Fact]
    public void AnAssertionScopeReportsEveryFailedClaimAtOnceWithItsNumbers()
    {
        var runs = Models.InductionRuns;
        var missing = Models.InductionCircuit.WithoutEdges([Models.KeyEdge]);
        var extra = Circuit.FromEdges(runs.Graph, Models.Induction.CircuitEdges.Append("a0.h0->logits"));
        string m = Fails.With(() =>
        {
            using (new AssertionScope())
            {
                missing.Should().BeFaithful(runs, atLeast: 0.8);
                Models.InductionCircuit.Should().BeFaithful(runs, atLeast: 0.9999); // holds: adds nothing
                extra.Should().BeMinimal(runs, delta: 0.01);
            }
        });
        m.Should().Contain("Expected missing to be faithful, f(C) ≥ 0.8, but f(C) = 0.")
            .And.Contain("Expected extra to be minimal").And.Contain("a0.h0->logits  drop 0")
            .And.NotContain("Expected Models.InductionCircuit");
    }

    [Fact]
    public void AnAssertionScopeCollectsAttributionFailuresToo()
    {
        var runs = Models.SaturatedRuns;
        var eap = EdgeAttribution.Eap(runs);
        string m = Fails.With(() =>
        {
            using (new AssertionScope())
            {
                eap.Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.3, topKRecallAtLeast: 1, topK: 2);
                eap.Should().HaveMissedEffectBoundBelow(runs, 0.1, 1.0, new MissedEffectOptions { VerifiedTop = 2 });
            }
        });
        m.Should().Contain("Expected eap to agree with activation patching").And.Contain("Expected eap to miss no effect");
    }

    [Fact]
    public void CircuitsEdgesAndResultsAreFormattedByName()
    {
        MechTestsFormatters.Register();
        var c = Models.InductionCircuit;
        Formatter.ToString(c).Should().Be("edge-level circuit with 3 edges over 4 nodes (2 layers × 3 heads): input->a0.h1<v>, a0.h1->a1.h2<k>, a1.h2->logits");
        Formatter.ToString(Circuit.FromNodes(Models.InductionRuns.Graph, ["a0.h1", "a1.h2"]))
            .Should().StartWith("node-level circuit with 4 nodes and 12 edges (2 layers × 3 heads): input, a0.h1, a1.h2, logits");
        Formatter.ToString(Models.InductionRuns.Graph.Edge(Models.KeyEdge)).Should().Be(Models.KeyEdge);
        Formatter.ToString(Models.InductionRuns.Graph.Edge(Models.KeyEdge).Parent).Should().Be("a0.h1");

        Fails.With(() => c.Edges.Should().HaveCount(2))
            .Should().Contain("but found 3: 3 edges {input->a0.h1<v>, a0.h1->a1.h2<k>, a1.h2->logits}");
        Fails.With(() => c.Should().BeNull()).Should().Contain("but found edge-level circuit with 3 edges over 4 nodes");
    }

    [Fact]
    public void ResultsReturnedByWhichAreFormattedWithTheirNumbers()
    {
        MechTestsFormatters.Register();
        var runs = Models.InductionRuns;
        var f = CircuitEvaluation.Faithfulness(runs, Circuit.Empty(runs.Graph));
        Formatter.ToString(f).Should().StartWith("f(C) = 0 (L(C) = -9.82898, L(clean) = 9.82898, L(corrupted) = -9.82898; 0 edges; ablation=corrupted-patch");
        Formatter.ToString(CircuitEvaluation.Minimality(runs, Models.InductionMechanism, 0.01))
            .Should().StartWith("not minimal: 4 of 7 components not necessary (δ = 0.01, f(C) = 1): input->a0.h1<q> (drop 0)");
        Formatter.ToString(AgreementReport.Compute(EdgeAttribution.Eap(runs).Scores, EdgePatching.RunEach(runs).Effects, 3))
            .Should().EndWith("missed true top-3: none");
    }

    [Fact]
    public void RegisteringTwiceOrInParallelAddsTheFormattersOnce()
    {
        Parallel.For(0, 16, _ => MechTestsFormatters.Register());
        MechTestsFormatters.Register();
        Formatter.Formatters.Count(f => MechTestsFormatters.All.Contains(f)).Should().Be(MechTestsFormatters.All.Count);
    }

    [Fact]
    public void TheCoreLibraryDoesNotDependOnFluentAssertions()
        => typeof(Circuit).Assembly.GetReferencedAssemblies().Select(a => a.Name).Should().NotContain(n => n!.StartsWith("FluentAssertions", StringComparison.Ordinal));
}
