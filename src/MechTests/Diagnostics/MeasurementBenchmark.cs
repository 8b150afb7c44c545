using System.Diagnostics;
using MechTests.Attribution;
using MechTests.Graphs;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.Diagnostics;

/// <summary>Cost of AtP* against exhaustive activation patching at one granularity.</summary>
/// <param name="Granularity">component (heads + MLPs) or neuron.</param>
/// <param name="Nodes">Nodes scored.</param>
/// <param name="AtPStarMs">Wall time of AtP* over all nodes (QK fix + GradDrop), ms.</param>
/// <param name="AtPStarForwardEquivalents">AtP* time divided by one forward pass of the batch.</param>
/// <param name="PatchedNodes">Nodes actually patched (all, or a sample when <paramref name="Extrapolated"/>).</param>
/// <param name="PatchingMs">Measured patching time of <paramref name="PatchedNodes"/>, ms.</param>
/// <param name="ExhaustivePatchingMs">Patching time of all nodes (extrapolated linearly from the sample when so marked), ms.</param>
/// <param name="Speedup">Exhaustive patching time / AtP* time.</param>
/// <param name="Extrapolated">Whether the exhaustive figure is extrapolated from a sample.</param>
public sealed record AttributionCost(string Granularity, int Nodes, double AtPStarMs, double AtPStarForwardEquivalents, int PatchedNodes,
    double PatchingMs, double ExhaustivePatchingMs, double Speedup, bool Extrapolated);

/// <summary>Edge patching throughput for one pair.</summary>
public sealed record EdgePatchingCost(int Edges, int PatchedEdges, double Ms, double EdgesPerSecond, double AllEdgesMinutes, bool Extrapolated);

/// <summary>Benchmarks of the measurement layer on a random GPT-2-small-shaped model.</summary>
/// <example><code>
/// var (engine, tokens) = EngineBenchmark.Gpt2SmallSetup();
/// var task = MeasurementBenchmark.RandomTask(engine.Config, tokens);
/// var cost = MeasurementBenchmark.AtPStarVersusPatching(engine, task, NodeGranularity.Component, sample: null, forwardMs: 250);
/// </code></example>
public static class MeasurementBenchmark
{
    /// <summary>A logit-difference task whose corrupted prompts differ from the clean ones in one token.</summary>
    public static MechTask RandomTask(ModelConfig c, int[][] tokens, int seed = 3)
    {
        var rng = new Random(seed);
        var pairs = tokens.Select((clean, i) =>
        {
            var corrupted = (int[])clean.Clone();
            corrupted[clean.Length / 2] = rng.Next(c.VocabSize);
            return new PromptPair(i, clean, corrupted, new[] { rng.Next(c.VocabSize) }, new[] { rng.Next(c.VocabSize) });
        }).ToArray();
        return new MechTask("random", MetricKind.LogitDiff, pairs);
    }

    /// <summary>AtP* over a granularity's nodes vs patching them (all, or <paramref name="sample"/> of them, extrapolated).</summary>
    public static AttributionCost AtPStarVersusPatching(IModelBackend engine, MechTask task, NodeGranularity granularity, int? sample, double forwardMs)
    {
        TaskRuns.Create(engine, task).Dispose(); // warm-up; disposed, as a program that runs tasks in turn would
        var nodes = NodeSets.Build(engine.Config, granularity);
        var sw = Stopwatch.StartNew();
        // The clean and corrupted forward passes are part of AtP*'s cost.
        using var runs = TaskRuns.Create(engine, task);
        NodeAttribution.AtPStar(runs, nodes);
        double atpStar = sw.Elapsed.TotalMilliseconds;
        var patched = sample is int n && n < nodes.Count
            ? nodes.Where((_, i) => i % (nodes.Count / n) == 0).Take(n).ToList()
            : nodes.ToList();
        sw.Restart();
        NodePatching.Run(runs, patched);
        double patch = sw.Elapsed.TotalMilliseconds;
        double exhaustive = patch * nodes.Count / patched.Count;
        return new AttributionCost(granularity == NodeGranularity.Neuron ? "neuron" : "component", nodes.Count, atpStar, atpStar / forwardMs,
            patched.Count, patch, exhaustive, exhaustive / atpStar, patched.Count < nodes.Count);
    }

    /// <summary>Exhaustive edge patching for one pair (or a sample of edges, extrapolated to all).</summary>
    public static EdgePatchingCost EdgePatching(IModelBackend engine, MechTask task, int? sample)
    {
        var one = new MechTask("one pair", task.Metric, new[] { task.Pairs[0] });
        using var runs = TaskRuns.Create(engine, one);
        var edges = runs.Graph.Edges;
        IReadOnlyList<GraphEdge> chosen = sample is int n && n < edges.Count
            ? edges.Where((_, i) => i % (edges.Count / n) == 0).Take(n).ToList()
            : edges;
        var sw = Stopwatch.StartNew();
        Patching.EdgePatching.RunEach(runs, chosen);
        double ms = sw.Elapsed.TotalMilliseconds;
        double perSecond = chosen.Count / (ms / 1000);
        return new EdgePatchingCost(edges.Count, chosen.Count, ms, perSecond, edges.Count / perSecond / 60, chosen.Count < edges.Count);
    }
}
