using FluentAssertions;
using MechTests.Circuits;
using MechTests.Patching;
using Xunit;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// BeMinimal on the planted induction model. Its three planted edges form one chain, so removing any of them takes
/// faithfulness from 1 to 0 (drop 1); edges of distractor heads and the query edges of the mechanism carry no
/// clean/corrupted difference, so removing them drops nothing.
/// </summary>
public class MinimalityAssertionTests
{
    private static TaskRuns Runs => Models.InductionRuns;

    [Fact]
    public void ThePlantedCircuitIsMinimalAndEveryEdgeDropsFaithfulnessByOne()
    {
        var m = Models.InductionCircuit.Should().BeMinimal(Runs, delta: 0.5).Which;
        m.NotNecessary.Should().BeEmpty();
        m.Drops.Select(d => d.Component).Should().BeEquivalentTo(Models.Induction.CircuitEdges);
        m.Drops.Should().OnlyContain(d => Math.Abs(d.Drop - 1) < 1e-6);
    }

    [Fact]
    public void ADeltaAboveTheLargestPossibleDropFailsForEveryEdge()
    {
        string m = Fails.With(() => Models.InductionCircuit.Should().BeMinimal(Runs, delta: 1.5));
        m.Should().Contain("removing any one component lowering f(C) by at least δ = 1.5, but 3 of 3 components are not necessary.")
            .And.Contain("a1.h2->logits  drop 1").And.Contain(Models.KeyEdge + "  drop 1").And.Contain("input->a0.h1<v>  drop 1");
    }

    [Fact]
    public void AnExtraIrrelevantEdgeIsNamedAsNotNecessary()
    {
        var extra = Circuit.FromEdges(Runs.Graph, Models.Induction.CircuitEdges.Append("a0.h0->logits")); // a0.h0 has W_O = 0
        extra.Should().BeFaithful(Runs, atLeast: 0.9999);
        string m = Fails.With(() => extra.Should().BeMinimal(Runs, delta: 0.01));
        m.Should().Contain("at least δ = 0.01, but 1 of 4 components are not necessary.")
            .And.Contain("f(C) = 1; drop(v) = f(C) − f(C \\ {v})")
            .And.Contain("Conventions: ablation=corrupted-patch; level=edge; positions=all; metric=logit_diff; patched=complement+v.");
        Fails.LinesAfter(m, "Least costly removals first:").Should().Equal("a0.h0->logits  drop 0  (f without it 1)");
    }

    [Fact]
    public void TheWholeMechanismIsFaithfulButItsQueryEdgesAreNotNecessary()
    {
        Models.InductionMechanism.Should().BeFaithful(Runs, atLeast: 0.9999);
        string m = Fails.With(() => Models.InductionMechanism.Should().BeMinimal(Runs, delta: 0.01));
        m.Should().Contain("but 4 of 7 components are not necessary.");
        Fails.LinesAfter(m, "Least costly removals first:").Select(l => l.Split("  ")[0]).Should()
            .BeEquivalentTo(Models.Induction.MechanismEdges.Except(Models.Induction.CircuitEdges));
    }

    [Fact]
    public void ANodeLevelCircuitWithADistractorHeadNamesTheHead()
    {
        Circuit.FromNodes(Runs.Graph, ["a0.h1", "a1.h2"]).Should().BeMinimal(Runs, delta: 0.5);
        string m = Fails.With(() => Circuit.FromNodes(Runs.Graph, ["a0.h1", "a1.h2", "a0.h0"]).Should().BeMinimal(Runs, delta: 0.01));
        m.Should().Contain("1 of 3 components are not necessary").And.Contain("level=node");
        Fails.LinesAfter(m, "Least costly removals first:").Should().Equal("a0.h0  drop 0  (f without it 1)");
    }

    [Fact]
    public void ACircuitFileIsCheckedOnItsOwnTask()
    {
        Models.InductionFile(Models.Induction.CircuitEdges).Should().BeMinimal(Models.InductionLoaded, delta: 0.5);
        Fails.With(() => Models.InductionFile(Models.Induction.MechanismEdges).Should().BeMinimal(Models.InductionLoaded))
            .Should().Contain("4 of 7 components are not necessary").And.Contain("input->a1.h2<q>  drop 0");
    }
}
