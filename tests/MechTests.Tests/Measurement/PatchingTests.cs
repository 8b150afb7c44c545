using MechTests.Graphs;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using Xunit;

namespace MechTests.Tests.Measurement;

public class PatchingTests
{
    public static TheoryData<string, MetricKind> Cases => new()
    {
        { "gpt2", MetricKind.LogitDiff }, { "neox", MetricKind.ProbDiff }, { "llama", MetricKind.KlDivergence }, { "llama-interleaved", MetricKind.LogProb },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PatchingNoEdgeGivesCleanAndEveryEdgeGivesCorrupted(string family, MetricKind metric)
    {
        var (engine, task) = TinyTasks.Create(family, metric);
        var runs = TaskRuns.Create(engine, task);
        var clean = runs.Batches.SelectMany(b => b.CleanMetric).ToArray();
        var corrupted = runs.Batches.SelectMany(b => b.CorruptedMetric).ToArray();
        var none = EdgePatching.MetricWithPatchedEdges(runs, _ => false);
        var all = EdgePatching.MetricWithPatchedEdges(runs, _ => true);
        for (int i = 0; i < clean.Length; i++)
        {
            Assert.True(Math.Abs(none[i] - clean[i]) <= 1e-5 * Math.Max(1, Math.Abs(clean[i])), $"pair {i}: none {none[i]} vs clean {clean[i]}");
            Assert.True(Math.Abs(all[i] - corrupted[i]) <= 1e-5 * Math.Max(1, Math.Abs(corrupted[i])), $"pair {i}: all {all[i]} vs corrupted {corrupted[i]}");
        }
        Assert.True(Math.Abs(runs.CleanMetric - runs.CorruptedMetric) > 1e-6, $"the task must separate clean from corrupted: {runs.CleanMetric} vs {runs.CorruptedMetric}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SingleEdgeEffectsMatchTheOnePassPatchOfThatEdge(string family, MetricKind metric)
    {
        var (engine, task) = TinyTasks.Create(family, metric);
        var runs = TaskRuns.Create(engine, task);
        var each = EdgePatching.RunEach(runs);
        Assert.Equal(runs.Graph.Edges.Count, each.Names.Count);
        // Every edge: a pass carries edges into different children and ports of one layer, each replica patched
        // only at its own input.
        foreach (var e in runs.Graph.Edges)
        {
            var single = EdgePatching.MetricWithPatchedEdges(runs, x => x == e);
            double expected = single.Average() - runs.CleanMetric;
            Assert.True(Math.Abs(each.Effects[e.Name] - expected) < 1e-5, $"{e.Name}: {each.Effects[e.Name]} vs {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void NodePatchingOfTheInputEqualsTheCorruptedRunAndHeadsMatchEdgeSums(string family, MetricKind metric)
    {
        var (engine, task) = TinyTasks.Create(family, metric);
        var runs = TaskRuns.Create(engine, task);
        var nodes = NodeSets.Build(engine.Config, NodeGranularity.Component);
        var result = NodePatching.Run(runs, nodes);
        double expectedInput = runs.CorruptedMetric - runs.CleanMetric;
        Assert.True(Math.Abs(result.Effects["input"] - expectedInput) <= 1e-5 * Math.Max(1, Math.Abs(expectedInput)), $"input: {result.Effects["input"]} vs {expectedInput}");
        // Patching a node = patching all its outgoing edges at once.
        foreach (var name in new[] { "a0.h1", "m0" })
        {
            var node = runs.Graph.Node(name);
            var viaEdges = EdgePatching.MetricWithPatchedEdges(runs, e => e.Parent == node).Average() - runs.CleanMetric;
            Assert.True(Math.Abs(result.Effects[name] - viaEdges) < 1e-5, $"{name}: node {result.Effects[name]} vs edges {viaEdges}");
        }
    }

    [Fact]
    public void PerPositionNodeEffectsAreMeasuredAtThatPositionOnly()
    {
        var (engine, task) = TinyTasks.Create("gpt2");
        var runs = TaskRuns.Create(engine, task);
        var nodes = NodeSets.Build(engine.Config, NodeGranularity.Component, positions: 4)
            .Where(n => n.Name.StartsWith("a1.h2@", StringComparison.Ordinal)).ToList();
        // Only the pair of length 4 can be used with 4 positions; a task of equal lengths is built for it.
        var shortTask = new MechTask("short", MetricKind.LogitDiff, new[] { task.Pairs[2] });
        var shortRuns = TaskRuns.Create(engine, shortTask);
        var perPos = NodePatching.Run(shortRuns, nodes);
        var whole = NodePatching.Run(shortRuns, new[] { nodes[0] with { Name = "a1.h2", Position = -1 } });
        // Layer-1 heads at the last position are the only ones the last-position metric can see through layer 1's writes.
        Assert.True(Math.Abs(perPos.Effects["a1.h2@3"] - whole.Effects["a1.h2"]) < 1e-6);
        Assert.Equal(0.0, perPos.Effects["a1.h2@0"], 9);
    }

    [Fact]
    public void GraphCountsMatchThePublishedModels()
    {
        var gpt2 = ComputeGraph.For(ModelPresets.Gpt2Small);
        Assert.Equal(158, gpt2.Nodes.Count);
        Assert.Equal(32491, gpt2.Edges.Count);
        Assert.Equal(1 + 12 * 13, gpt2.ForwardCount);
        Assert.Equal(12 * 37 + 1, gpt2.BackwardCount);
        var pythia = ComputeGraph.For(ModelPresets.Pythia70m);
        Assert.Equal(56, pythia.Nodes.Count);
        Assert.Equal(3580, pythia.Edges.Count);
        var medium = ComputeGraph.For(ModelPresets.Gpt2Small with { NLayers = 24, NHeads = 16 });
        Assert.Equal(410, medium.Nodes.Count);
        Assert.Equal(231877, medium.Edges.Count);
        Assert.Equal("a3.h2->a5.h1<q>", gpt2.Edge("a3.h2->a5.h1<q>").Name);
        Assert.Equal(5 * 37 + 1 * 12 + 1, gpt2.Input("a5.h1<k>").BackwardIndex);
        Assert.Equal(1 + 3 * 13 + 2, gpt2.Node("a3.h2").ForwardIndex);
        Assert.True(gpt2.TryEdge("a3.h0->m3", out _));
        Assert.False(ComputeGraph.For(ModelPresets.Pythia70m).TryEdge("a3.h0->m3", out _));
        Assert.Throws<KeyNotFoundException>(() => gpt2.Edge("a5.h1->a3.h2<q>"));
    }
}
