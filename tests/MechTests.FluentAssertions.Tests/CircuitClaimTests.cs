using FluentAssertions;
using FluentAssertions.Execution;
using MechTests.Circuits;
using Xunit;
using Xunit.Sdk;

namespace MechTests.FluentAssertions.Tests;

/// <summary>Faithfulness, completeness and minimality claims on the planted induction circuit and its broken variants.</summary>
public class CircuitClaimTests
{
    private static string FailureOf(Action claim) => Assert.Throws<XunitException>(claim).Message;

    private const string MissingEdge = "a0.h1->a1.h2<k>";

    [Fact]
    public void ThePlantedCircuitIsFaithfulCompleteAndMinimal()
    {
        var runs = Models.InductionRuns;
        var circuit = Models.InductionCircuit;
        circuit.Should().BeFaithful(runs, atLeast: 0.9999).Which.Value.Should().BeApproximately(1, 1e-4);
        circuit.Should().BeComplete(runs, maxIncompleteness: 1e-4).Which.SetsTried.Should().BeGreaterThan(1);
        circuit.Should().BeMinimal(runs, delta: 0.5).Which.NotNecessary.Should().BeEmpty();
    }

    [Fact]
    public void AnEmptyCircuitFailsFaithfulnessWithTheValueThresholdConventionsAndTheEdgesItLacks()
    {
        string m = FailureOf(() => Circuit.Empty(Models.InductionRuns.Graph).Should().BeFaithful(Models.InductionRuns, atLeast: 0.8));
        m.Should().Contain("to be faithful, f(C) ≥ 0.8").And.Contain("but f(C) = 0")
            .And.Contain("Conventions: ablation=corrupted-patch; level=edge; positions=all; metric=logit_diff")
            .And.Contain("a1.h2->logits");
    }

    [Fact]
    public void ACircuitMissingAPlantedEdgeIsNotFaithfulNorCompleteAndTheMessagesNameTheEdge()
    {
        var missing = Models.InductionCircuit.WithoutEdges([MissingEdge]);
        string f = FailureOf(() => missing.Should().BeFaithful(Models.InductionRuns, atLeast: 0.8));
        f.Should().Contain("Edges outside the circuit with the largest |EAP| score").And.Contain(MissingEdge);
        string c = FailureOf(() => missing.Should().BeComplete(Models.InductionRuns));
        c.Should().Contain("normalized incompleteness ≤ 0.1").And.Contain("but it is 1 for K = ∅").And.Contain("Sets tried:");
    }

    [Fact]
    public void AnExtraIrrelevantEdgeFailsMinimalityAndIsNamed()
    {
        var extra = Circuit.FromEdges(Models.InductionRuns.Graph, Models.Induction.CircuitEdges.Append("a0.h0->logits"));
        extra.Should().BeFaithful(Models.InductionRuns, atLeast: 0.9999); // still faithful: the edge carries nothing
        string m = FailureOf(() => extra.Should().BeMinimal(Models.InductionRuns, delta: 0.01));
        m.Should().Contain("1 of 4 components are not necessary").And.Contain("a0.h0->logits  drop 0");
    }

    [Fact]
    public void AssertionScopeReportsEveryFailedClaimOfATestAtOnce()
    {
        var missing = Models.InductionCircuit.WithoutEdges([MissingEdge]);
        string m = FailureOf(() =>
        {
            using var scope = new AssertionScope();
            missing.Should().BeFaithful(Models.InductionRuns, atLeast: 0.8);
            missing.Should().BeComplete(Models.InductionRuns);
        });
        m.Should().Contain("to be faithful").And.Contain("to be complete");
    }

    [Fact]
    public void TheCheckedInNameCopyClaimHoldsOnTheEmbeddedModelAndAStricterOneFailsWithTheMeasuredValue()
    {
        var claim = CircuitFile.Read(Path.Combine(Models.RepoRoot, "circuits", "name-copy.json"));
        claim.Should().BeFaithful(Models.Stories, atLeast: 0.85).Which.Value.Should().BeApproximately(claim.Metrics["faithfulness"].Value, 1e-4);
        claim.Should().PerformTheRecordedTask(Models.Stories, keepingAtLeast: 0.99);
        string m = FailureOf(() => claim.Should().BeFaithful(Models.Stories, atLeast: 0.99));
        m.Should().Contain("f(C) ≥ 0.99").And.Contain("but f(C) = 0.9137");
    }

    [Fact]
    public void AClaimIsRefusedOnAModelItWasNotWrittenFor()
    {
        var claim = CircuitFile.Read(Path.Combine(Models.RepoRoot, "circuits", "name-copy.json"));
        var other = MechTests.Models.Loading.ModelLoader.Load(Path.Combine(Models.RepoRoot, "models", "stories260K", "stories260K.bin"));
        var tampered = claim.ForModel(claim.Model with { WeightsSha256 = new string('0', 64) });
        string m = FailureOf(() => tampered.Should().BeFaithful(other, Models.NameCopy, atLeast: 0.5));
        m.Should().Contain("it was written for another model").And.Contain("weightsSha256");
    }
}
