using FluentAssertions;
using FluentAssertions.Execution;
using MechTests.Attribution;
using MechTests.Circuits;
using MechTests.Patching;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.FluentAssertions.Tests;

public class Explore(ITestOutputHelper output)
{
    private void Show(Action a) { try { a(); output.WriteLine("PASSED"); } catch (Exception e) { output.WriteLine(e.GetType().Name + ": " + e.Message); } output.WriteLine("-----"); }

    [Fact]
    public void Messages()
    {
        var runs = Models.InductionRuns;
        Show(() => Circuit.Empty(runs.Graph).Should().BeFaithful(runs, 0.8));
        var missing = Models.InductionCircuit.WithoutEdges(["a0.h1->a1.h2<k>"]);
        Show(() => missing.Should().BeFaithful(runs, 0.8));
        Show(() => missing.Should().BeComplete(runs));
        var extra = Circuit.FromEdges(runs.Graph, Models.Induction.CircuitEdges.Append("a0.h0->logits"));
        Show(() => extra.Should().BeMinimal(runs));
        Show(() => Models.InductionMechanism.Should().BeMinimal(runs));
        var star = EdgeAttribution.AtPStar(runs);
        output.WriteLine(string.Join(", ", star.Scores.OrderByDescending(kv => kv.Value).Take(5).Select(kv => $"{kv.Key} {kv.Value}")));
        Show(() => star.Should().AgreeWithActivationPatching(runs, 0.8, 0.8, 3).Which.Should().BeNull());
        var rng = new Random(1);
        var random = new AttributionResult(AttributionMethod.AtPStar, Aggregation.AbsMean, "edge", star.Names, [star.Names.Select(_ => rng.NextDouble()).ToArray()]);
        Show(() => random.Should().AgreeWithActivationPatching(runs, 0.8, 0.8, 3));
        double gap = runs.CleanMetric - runs.CorruptedMetric;
        output.WriteLine($"gap {gap}");
        var rep = MissedEffectDiagnostic.Run(runs, star, 0.1 * gap, new MissedEffectOptions { VerifiedTop = 3 });
        output.WriteLine(string.Join("\n", rep.Suspects.Concat(rep.Sampled).Select(m => m.ToString())));
        foreach (var seed in new[]{1,2,3}) { var ss = Subsampling.Estimate(runs, NodeSets.Build(Models.Induction.Config, NodeGranularity.Component), 64, 0.1, seed); output.WriteLine(string.Join(", ", ss.Estimates.Select(kv => $"{kv.Key} {kv.Value:F2}"))); }
        var eap = EdgeAttribution.Eap(runs);
        Show(() => eap.Should().AgreeWithActivationPatching(runs, 0.5, 1, 3).Which.Should().BeNull());
        var ig = EdgeAttribution.EapIg(runs);
        Show(() => ig.Should().AgreeWithActivationPatching(runs, 0.5, 1, 3).Which.Should().BeNull());
        Show(() => random.Should().HaveMissedEffectBoundBelow(runs, 0.1, 0.1 * gap, new MissedEffectOptions { VerifiedTop = 3 }));
        Show(() => star.Should().HaveMissedEffectBoundBelow(runs, 0.1, 0.1 * gap, new MissedEffectOptions { VerifiedTop = 3, Samples = 5 }));
        var sr = Models.StoriesRuns;
        var nodes = NodeSets.Build(Models.Stories.Config, NodeGranularity.Component);
        var ns = NodeAttribution.AtPStar(sr, nodes);
        Show(() => ns.Should().AgreeWithActivationPatching(sr, 0.8, 0.8, 5).Which.Should().BeNull());
        double sg = sr.CleanMetric - sr.CorruptedMetric;
        Show(() => ns.Should().HaveMissedEffectBoundBelow(sr, 0.1, 0.05 * sg, new MissedEffectOptions { VerifiedTop = 10 }).Which.Should().BeNull());
        var np = NodePatching.Run(sr, nodes);
        output.WriteLine(string.Join(", ", np.Effects.OrderByDescending(kv => Math.Abs(kv.Value)).Take(15).Select(kv => $"{kv.Key} {kv.Value:F3}")));
        var top = CircuitDiscovery.TopN(sr.Graph, EdgeAttribution.EapIg(sr).Scores, 100).Circuit;
        Show(() => top.Should().BeFaithful(sr, 0.8).Which.Should().BeNull());
        Show(() => top.Should().BeNull());
        Show(() => top.Edges.Should().HaveCount(3));
    }
}
