using FluentAssertions;
using MechTests.Circuits;
using MechTests.Patching;
using Xunit;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// BeComplete on the planted induction model: the planted circuit and the full graph are complete (every knocked-out
/// set K changes the circuit and the model alike), a circuit missing a planted edge is not, already at K = ∅ where the
/// normalized incompleteness is |f(C) − 1| = 1.
/// </summary>
public class CompletenessAssertionTests
{
    private static TaskRuns Runs => Models.InductionRuns;

    [Fact]
    public void ThePlantedCircuitAndTheFullGraphAreComplete()
    {
        var c = Models.InductionCircuit.Should().BeComplete(Runs, maxIncompleteness: 1e-4).Which;
        c.WorstNormalized.Should().BeLessThan(1e-4);
        c.SetsTried.Should().BeGreaterThan(1);
        c.Probes.Should().Contain(p => p.Source == "empty").And.Contain(p => p.Source == "random");

        Circuit.Full(Runs.Graph).Should().BeComplete(Runs, maxIncompleteness: 0).Which.WorstNormalized.Should().Be(0); // C \ K = M \ K
    }

    [Fact]
    public void ACircuitMissingAPlantedEdgeIsIncompleteAndTheMessageNamesTheWorstSetAndTheSearch()
    {
        var missing = Models.InductionCircuit.WithoutEdges([Models.KeyEdge]);
        string m = Fails.With(() => missing.Should().BeComplete(Runs));
        m.Should().Contain("to be complete, normalized incompleteness ≤ 0.1 for every K tried, but it is 1 for K = ∅ (found by the empty search).")
            .And.Contain("F(C \\ K) = -9.82898, F(M \\ K) = 9.82898, |L(clean) − L(corrupted)| = 19.658")
            .And.Contain("Sets tried: ").And.Contain("16 random sets with p = 0.5, 3 greedy steps over every candidate, seed 0")
            .And.Contain(Models.EdgeConventions)
            .And.Contain("Largest incompleteness found (metric units):\n    19.658  K = ∅");
    }

    [Fact]
    public void TheSearchOptionsAreUsedAndReported()
    {
        var options = new CompletenessOptions { RandomSets = 0, GreedySteps = 0 };
        var missing = Models.InductionCircuit.WithoutEdges([Models.KeyEdge]);
        string m = Fails.With(() => missing.Should().BeComplete(Runs, maxIncompleteness: 0.5, options));
        m.Should().Contain("Sets tried: 1 (the empty set, 0 random sets with p = 0.5, 0 greedy steps over every candidate, seed 0)");
    }

    [Fact]
    public void ACircuitFileIsCheckedOnItsOwnTask()
    {
        Models.InductionFile(Models.Induction.CircuitEdges).Should().BeComplete(Models.InductionLoaded, maxIncompleteness: 1e-4);
        Fails.With(() => Models.InductionFile([Models.KeyEdge]).Should().BeComplete(Models.InductionLoaded))
            .Should().Contain("but it is 1 for K = ∅");
        Fails.With(() => ((CircuitFile)null!).Should().BeComplete(Models.InductionLoaded)).Should().Contain("to be complete, normalized incompleteness ≤ 0.1 for every K tried, but found <null>.");
    }
}
