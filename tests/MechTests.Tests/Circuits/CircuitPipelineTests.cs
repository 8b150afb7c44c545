using MechTests.Circuits;
using MechTests.GroundTruth;
using MechTests.Models;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>
/// CircuitPipeline on planted models: what `mechtests discover` writes is what `mechtests verify` re-derives, the
/// planted circuit is what it finds, and a claim cannot silently be checked against other weights.
/// </summary>
public class CircuitPipelineTests
{
    private static readonly PlantedModel Induction = GroundTruthModels.Induction(InductionCorruption.EarlierToken);
    private static readonly EvaluationPlan Plan = new() { Completeness = new CompletenessOptions { RandomSets = 4, GreedySteps = 1, Seed = 2 } };

    private static (CircuitFile File, string Sha) Discover(PlantedModel m, DiscoverySpec spec)
    {
        string sha = ModelIdentity.HashWeights(m.Weights);
        var file = CircuitPipeline.Discover(m.CreateEngine(), ModelIdentity.From(m.Config, sha), m.Task, TaskReference.Inline(m.Task), spec, Plan);
        return (file, sha);
    }

    [Theory]
    [InlineData("edge-patching")]
    [InlineData("eap")]
    [InlineData("eap-ig")]
    // Not atp-star: on this model GradDrop scores the value edge below 1e-6 (InductionAttributionTests pins why).
    public void GreedyAtThePlantedSizeFindsThePlantedCircuitAndMeasuresItFaithful(string scores)
    {
        var (file, _) = Discover(Induction, new DiscoverySpec { Method = "greedy", Scores = scores, N = Induction.CircuitEdges.Count });
        Assert.Equal(Induction.CircuitEdges.Order(StringComparer.Ordinal), file.Circuit.Edges.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Equal(1.0, file.Metrics["faithfulness"].Value, 4);
        Assert.Equal(0.0, file.Metrics["minimality"].Value); // every planted edge is necessary
        Assert.True(file.Metrics["completeness"].Details!["normalized"]!.GetValue<double>() <= 1e-4);
    }

    [Fact]
    public void ReDerivingAClaimOnTheSameModelGivesAnEquivalentFile()
    {
        foreach (var spec in new[]
        {
            new DiscoverySpec { Method = "top-n", Scores = "eap", N = 5 },
            new DiscoverySpec { Method = "acdc", Tau = 0.05 },
            new DiscoverySpec { Method = "top-n-nodes", Scores = "node-patching", N = 3 },
        })
        {
            var (file, sha) = Discover(Induction, spec);
            var text = file.ToJson();
            var again = CircuitPipeline.Rederive(CircuitFile.Parse(text, "claim.json"), Induction.CreateEngine(), sha, null);
            Assert.Equal(text, again.ToJson());
        }
    }

    [Fact]
    public void AClaimIsRefusedOnOtherWeightsUnlessAskedAndThenNamesTheNewWeights()
    {
        var (file, _) = Discover(Induction, new DiscoverySpec { Method = "greedy", Scores = "edge-patching", N = 3 });
        var scaled = GroundTruthModels.Induction(InductionCorruption.EarlierToken); // fresh arrays, same shape
        scaled.Weights.TokenEmbed[0] += 1e-3f;
        string otherSha = ModelIdentity.HashWeights(scaled.Weights);
        var e = Assert.Throws<ModelMismatchException>(() => CircuitPipeline.Rederive(file, scaled.CreateEngine(), otherSha, null));
        Assert.Contains("weightsSha256", e.Message);
        var re = CircuitPipeline.Rederive(file, scaled.CreateEngine(), otherSha, null, allowDifferentWeights: true);
        Assert.Equal(otherSha, re.Model.WeightsSha256);
        Assert.Contains(CircuitDiff.Compare(file, re).Header, d => d.Field.Contains("weightsSha256", StringComparison.Ordinal));
    }

    [Fact]
    public void AClaimOfAnotherShapeIsRefusedEvenWithDifferentWeightsAllowed()
    {
        var (file, _) = Discover(Induction, new DiscoverySpec { Method = "greedy", Scores = "edge-patching", N = 3 });
        var cancel = GroundTruthModels.Cancellation();
        var e = Assert.Throws<ModelMismatchException>(() =>
            CircuitPipeline.Rederive(file, cancel.CreateEngine(), ModelIdentity.HashWeights(cancel.Weights), null, allowDifferentWeights: true));
        Assert.Contains("another model", e.Message);
    }
}
