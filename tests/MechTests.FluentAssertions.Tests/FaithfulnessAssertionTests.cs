using FluentAssertions;
using MechTests.Circuits;
using MechTests.Patching;
using MechTests.Graphs;
using Xunit;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// BeFaithful on the planted induction model, whose faithfulness values are known by construction: the planted circuit
/// and the full graph 1, the empty circuit 0, and any circuit that breaks the input → a0.h1 → a1.h2 → logits chain 0.
/// </summary>
public class FaithfulnessAssertionTests
{
    private static TaskRuns Runs => Models.InductionRuns;

    [Fact]
    public void ThePlantedCircuitIsFaithfulThroughEveryModelOverload()
    {
        Models.InductionCircuit.Should().BeFaithful(Runs, atLeast: 0.9999).Which.Value.Should().BeApproximately(1, 1e-4);
        Models.InductionCircuit.Should().BeFaithful(Models.Induction.CreateEngine(), Models.Induction.Task, atLeast: 0.9999)
            .Which.Value.Should().BeApproximately(1, 1e-4);
        Models.InductionCircuit.Should().BeFaithful(Models.InductionLoaded, Models.Induction.Task, atLeast: 0.9999)
            .Which.Value.Should().BeApproximately(1, 1e-4);
    }

    [Fact]
    public void TheFullGraphIsFaithfulAndTheEmptyCircuitIsNot()
    {
        Circuit.Full(Runs.Graph).Should().BeFaithful(Runs, atLeast: 0.9999).Which.Value.Should().BeApproximately(1, 1e-6);

        string m = Fails.With(() => Circuit.Empty(Runs.Graph).Should().BeFaithful(Runs, atLeast: 0.8));
        m.Should().Contain("to be faithful, f(C) ≥ 0.8, but f(C) = 0.")
            .And.Contain("L(C) = -9.82898, L(clean) = 9.82898, L(corrupted) = -9.82898")
            .And.Contain(Models.EdgeConventions)
            .And.Contain("Circuit: edge-level circuit with 0 edges");
        // With nothing kept, the edges most likely missing are the planted ones (|EAP|: 19.66 for the direct edge, 1.3 for the others).
        Fails.LinesAfter(m, "Edges outside the circuit with the largest |EAP| score").Take(3).Select(l => l.Split("  ")[0])
            .Should().BeEquivalentTo(Models.Induction.CircuitEdges);
    }

    [Fact]
    public void ACircuitMissingAPlantedEdgeFailsAndNamesThatEdgeFirst()
    {
        var missing = Models.InductionCircuit.WithoutEdges([Models.KeyEdge]);
        string m = Fails.With(() => missing.Should().BeFaithful(Runs, atLeast: 0.8));
        m.Should().Contain("f(C) ≥ 0.8, but f(C) = 0.").And.Contain(Models.EdgeConventions)
            .And.Contain("Circuit: edge-level circuit with 2 edges over 4 nodes (2 layers × 3 heads): input->a0.h1<v>, a1.h2->logits.");
        Fails.LinesAfter(m, "Edges outside the circuit with the largest |EAP| score")[0].Should().StartWith(Models.KeyEdge + "  -1.3");
    }

    [Fact]
    public void ANodeLevelCircuitIsJudgedByItsHeadsAndAMissingHeadIsNamed()
    {
        Circuit.FromNodes(Runs.Graph, ["a0.h1", "a1.h2"]).Should().BeFaithful(Runs, atLeast: 0.9999).Which.Value.Should().BeApproximately(1, 1e-4);

        string m = Fails.With(() => Circuit.FromNodes(Runs.Graph, ["a1.h2"]).Should().BeFaithful(Runs, atLeast: 0.9));
        m.Should().Contain("but f(C) = 0.").And.Contain("Conventions: ablation=corrupted-patch; level=node; positions=all; metric=logit_diff");
        Fails.LinesAfter(m, "Heads and MLPs outside the circuit with the largest |AtP| score")[0].Should().StartWith("a0.h1  ");
    }

    [Fact]
    public void TheBecausePhraseIsPartOfTheMessage()
    {
        string m = Fails.With(() => Circuit.Empty(Runs.Graph).Should().BeFaithful(Runs, atLeast: 0.5, "the induction head needs {0}", "its key"));
        m.Should().Contain("to be faithful, f(C) ≥ 0.5 because the induction head needs its key, but f(C) = 0.");
    }

    [Fact]
    public void ACircuitOverAnotherModelsGraphOrNoCircuitFailsWithoutMeasuring()
    {
        var foreign = Circuit.Full(ComputeGraph.For(Models.Saturated.Config));
        Fails.With(() => foreign.Should().BeFaithful(Runs))
            .Should().Contain("but it is over a 2-layer, 2-head graph and the model's graph is a 2-layer, 3-head graph.");
        Fails.With(() => ((Circuit)null!).Should().BeFaithful(Runs)).Should().Contain("to be faithful, f(C) ≥ 0.8, but found <null>.");
    }

    [Fact]
    public void ACircuitFileIsCheckedOnItsOwnTaskAndRefusedOnOtherWeights()
    {
        var file = Models.InductionFile(Models.Induction.CircuitEdges);
        file.Should().BeFaithful(Models.InductionLoaded, atLeast: 0.9999).Which.Value.Should().BeApproximately(1, 1e-4);
        Fails.With(() => Models.InductionFile([]).Should().BeFaithful(Models.InductionLoaded, atLeast: 0.5)).Should().Contain("but f(C) = 0.");

        var tampered = file.ForModel(file.Model with { WeightsSha256 = new string('0', 64) });
        Fails.With(() => tampered.Should().BeFaithful(Models.InductionLoaded))
            .Should().Contain("on planted:induction-earlier-token, but it was written for another model").And.Contain("weightsSha256");
        Fails.With(() => ((CircuitFile)null!).Should().BeFaithful(Models.InductionLoaded)).Should().Contain("but found <null>.");
    }
}
