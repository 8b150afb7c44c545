using MechTests.Attribution;
using MechTests.GroundTruth;
using MechTests.Patching;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Tests.GroundTruth;

/// <summary>Facts every planted model must satisfy: it does its task and its circuit is exactly the planted one.</summary>
public class PlantedModelTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Planted.Names), MemberType = typeof(Planted))]
    public void ModelDoesItsTask(string name)
    {
        var p = Planted.Get(name);
        var (m, runs) = (p.Model, p.Runs);
        output.WriteLine($"{name}: clean logit diff {runs.CleanMetric:F4}, corrupted {runs.CorruptedMetric:F4}");
        foreach (var b in runs.Batches)
        for (int i = 0; i < b.Pairs.Length; i++)
        {
            // Every pair, not just the mean: the construction leaves no pair to chance.
            Assert.True(b.CleanMetric[i] > 4, $"pair {b.Pairs[i].Index}: clean logit diff {b.CleanMetric[i]}");
            Assert.True(b.CorruptedMetric[i] < -4, $"pair {b.Pairs[i].Index}: corrupted logit diff {b.CorruptedMetric[i]}");
        }
        Assert.Equal(m.Config.VocabSize, m.Weights.TokenEmbed.Length / m.Config.DModel);
    }

    [Theory]
    [MemberData(nameof(Planted.Names), MemberType = typeof(Planted))]
    public void PlantedNamesExistInTheGraph(string name)
    {
        var p = Planted.Get(name);
        var (m, runs) = (p.Model, p.Runs);
        foreach (var e in m.MechanismEdges) runs.Graph.Edge(e);
        foreach (var n in m.CircuitNodes.Concat(m.DistractorNodes)) runs.Graph.Node(n);
        Assert.Subset(m.MechanismEdges.ToHashSet(), m.CircuitEdges.ToHashSet());
        Assert.Empty(m.CircuitNodes.Intersect(m.DistractorNodes));
        Assert.Equal(PlantedModel.NodesOf(m.CircuitEdges).OrderBy(x => x), m.CircuitNodes.OrderBy(x => x));
        if (m.FocusNode is { } focus)
            Assert.True(runs.Graph.TryNode(focus, out _) || NodeSets.Build(m.Config, NodeGranularity.QueryKeyValue).Any(n => n.Name == focus), focus);
    }

    [Theory]
    [MemberData(nameof(Planted.Names), MemberType = typeof(Planted))]
    public void PlantedCircuitIsExactlyFaithful(string name)
    {
        var p = Planted.Get(name);
        var (m, runs) = (p.Model, p.Runs);
        double circuit = CircuitScore.Faithfulness(runs, m.CircuitEdges);
        double mechanism = CircuitScore.Faithfulness(runs, m.MechanismEdges);
        double empty = CircuitScore.Faithfulness(runs, new HashSet<string>());
        output.WriteLine($"{name}: faithfulness circuit {circuit:F6} ({m.CircuitEdges.Count} edges), mechanism {mechanism:F6} ({m.MechanismEdges.Count} edges), empty {empty:F6}");
        Assert.InRange(circuit, 1 - 1e-4, 1 + 1e-4);
        // The extra mechanism edges carry no difference that matters, so keeping them clean changes nothing.
        Assert.InRange(mechanism, 1 - 1e-4, 1 + 1e-4);
        Assert.InRange(empty, -1e-6, 1e-6);
    }

    [Theory]
    [MemberData(nameof(Planted.Names), MemberType = typeof(Planted))]
    public void RemovingAnyPlantedEdgeBreaksFaithfulness(string name)
    {
        var p = Planted.Get(name);
        var (m, runs) = (p.Model, p.Runs);
        foreach (var edge in m.CircuitEdges)
        {
            var without = m.CircuitEdges.Where(e => e != edge).ToHashSet(StringComparer.Ordinal);
            double f = CircuitScore.Faithfulness(runs, without);
            output.WriteLine($"{name}: without {edge}: faithfulness {f:F4}");
            Assert.True(f < 0.5, $"{name}: removing {edge} leaves faithfulness {f}");
        }
    }

    [Theory]
    [MemberData(nameof(Planted.Names), MemberType = typeof(Planted))]
    public void ExhaustiveEdgePatchingPutsThePlantedCircuitOnTop(string name)
    {
        var p = Planted.Get(name);
        var (m, runs) = (p.Model, p.Runs);
        var effects = p.EdgeEffects.Effects;
        int n = m.CircuitEdges.Count;
        var (precision, recall) = CircuitScore.PrecisionRecallAtK(effects, m.CircuitEdges, n);
        double gap = runs.CleanMetric - runs.CorruptedMetric;
        var top = effects.OrderByDescending(kv => Math.Abs(kv.Value)).Take(n + 3).Select(kv => $"{kv.Key} {kv.Value:F4}");
        output.WriteLine($"{name}: patching top: {string.Join(", ", top)}");
        Assert.Equal(1.0, precision);
        Assert.Equal(1.0, recall);
        // Each planted edge alone moves the metric most of the way; every other edge is (numerically) inert.
        foreach (var e in m.CircuitEdges) Assert.True(Math.Abs(effects[e]) > 0.5 * gap, $"{e}: {effects[e]}");
        double restMax = effects.Where(kv => !m.MechanismEdges.Contains(kv.Key)).Max(kv => Math.Abs(kv.Value));
        output.WriteLine($"{name}: largest |effect| outside the mechanism {restMax:E2}");
        Assert.True(restMax < 1e-3 * gap, $"an edge outside the mechanism has effect {restMax}");
    }

    [Theory]
    [MemberData(nameof(Planted.Names), MemberType = typeof(Planted))]
    public void DistractorEdgesHaveZeroEffectAndZeroAttribution(string name)
    {
        var p = Planted.Get(name);
        var (m, runs) = (p.Model, p.Runs);
        double gap = runs.CleanMetric - runs.CorruptedMetric;
        var touching = runs.Graph.Edges.Where(e => Planted.Touches(e, m.DistractorNodes)).Select(e => e.Name).ToList();
        Assert.NotEmpty(touching);
        var eap = p.Eap;
        var star = p.AtPStar;
        double maxPatch = touching.Max(e => Math.Abs(p.EdgeEffects.Effects[e]));
        double maxEap = touching.Max(e => Math.Abs(eap.Scores[e]));
        double maxStar = touching.Max(e => Math.Abs(star.Scores[e]));
        output.WriteLine($"{name}: {touching.Count} distractor edges; max |patching| {maxPatch:E2}, |EAP| {maxEap:E2}, |AtP*| {maxStar:E2} (gap {gap:F3})");
        // Heads with W_O = 0 and zeroed MLPs are exactly inert; the constant-value heads are inert up to float
        // rounding of Σ_j A_j·v (softmax rows sum to 1 only to an ulp).
        Assert.True(maxPatch <= 1e-6 * gap, $"patching effect {maxPatch}");
        Assert.True(maxEap <= 1e-6 * gap, $"EAP score {maxEap}");
        Assert.True(maxStar <= 1e-6 * gap, $"AtP* score {maxStar}");
        // Edges into or out of a node that writes exactly 0 are exactly inert, and their gradient is exactly 0.
        var dead = m.DistractorNodes.Where(n => IsDead(m, n)).ToHashSet(StringComparer.Ordinal);
        var deadEdges = runs.Graph.Edges.Where(e => Planted.Touches(e, dead)).Select(e => e.Name).ToList();
        Assert.NotEmpty(deadEdges);
        Assert.All(deadEdges, e => Assert.Equal(0.0, p.EdgeEffects.Effects[e]));
        Assert.All(deadEdges, e => Assert.Equal(0.0, eap.Scores[e]));
    }

    /// <summary>Zero W_O heads and zeroed MLPs write exactly 0.</summary>
    private static bool IsDead(PlantedModel m, string node)
    {
        var g = MechTests.Graphs.ComputeGraph.For(m.Config).Node(node);
        var lw = m.Weights.Layers[g.Layer];
        int d = m.Config.DModel, dh = m.Config.DHead;
        return g.Kind == MechTests.Graphs.NodeKind.Mlp ? lw.WOut.All(x => x == 0)
            : lw.Wo.AsSpan(g.Head * dh * d, dh * d).IndexOfAnyExcept(0f) < 0;
    }
}
