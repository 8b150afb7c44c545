using MechTests.Circuits;
using MechTests.Graphs;
using MechTests.Patching;
using Xunit;

namespace MechTests.Tests.Circuits;

public class DiscoveryTests
{
    private static readonly ComputeGraph G = CircuitFixtures.TinyGraph();

    // Hand-made scores: a strong pair of edges off the logits path (a0.h3->m1 feeds m1, which writes nowhere
    // scored) and a large negative one, so absolute/signed and greedy/top-n choose differently.
    private static readonly Dictionary<string, double> Hand = new()
    {
        ["m0->logits"] = 10,
        ["a1.h2->logits"] = 5,
        ["input->a1.h2<q>"] = 4,
        ["a0.h0->a1.h2<v>"] = 3,
        ["input->a0.h0<k>"] = 1,
        ["a0.h3->m1"] = 8,
        ["input->a0.h3<v>"] = 7,
        ["input->a1.h2<k>"] = -20,
    };

    private static string[] Edges(DiscoveryResult r) => r.Circuit.Edges.Select(e => e.Name).ToArray();

    [Fact]
    public void TopNTakesTheHighestRankedEdgesThenPrunes()
    {
        var abs = CircuitDiscovery.TopN(G, Hand, 4, ScoreRanking.Absolute);
        // Top 4 by |score|: input->a1.h2<k> (20), m0->logits (10), a0.h3->m1 (8), input->a0.h3<v> (7); only the
        // first reaches nothing — m0 has no input, m1 has no output — so everything is pruned.
        Assert.Empty(Edges(abs));
        Assert.Equal("absolute", abs.Parameters["ranking"]);
        Assert.Equal("4", abs.Parameters["n"]);

        // Top 6 adds a1.h2->logits (5) and input->a1.h2<q> (4): a1.h2 now reaches the logits.
        var six = CircuitDiscovery.TopN(G, Hand, 6, ScoreRanking.Absolute);
        Assert.Equal(new[] { "input->a1.h2<q>", "input->a1.h2<k>", "a1.h2->logits" }, Edges(six));

        var signed = CircuitDiscovery.TopN(G, Hand, 6, ScoreRanking.Signed);
        Assert.Equal("signed", signed.Parameters["ranking"]);
        Assert.Equal(new[] { "input->a1.h2<q>", "a1.h2->logits" }, Edges(signed));
        Assert.Equal(4, signed.Circuit.Scores["input->a1.h2<q>"]);
    }

    [Fact]
    public void ThresholdKeepsEdgesAtOrAboveTauInTheChosenRanking()
    {
        var abs = CircuitDiscovery.Threshold(G, Hand, 4.0);
        Assert.Equal(new[] { "input->a1.h2<q>", "input->a1.h2<k>", "a1.h2->logits" }, Edges(abs));
        var signed = CircuitDiscovery.Threshold(G, Hand, 4.0, ScoreRanking.Signed);
        Assert.Equal(new[] { "input->a1.h2<q>", "a1.h2->logits" }, Edges(signed));
        Assert.Equal("4", signed.Parameters["tau"]);
    }

    [Fact]
    public void GreedyGrowsFromTheLogitsAndNeverPicksAnUnreachableEdge()
    {
        // Candidates start as edges into logits: m0->logits (10) then a1.h2->logits (5); a1.h2's inputs join;
        // input->a1.h2<k> (|−20|) is next. a0.h3->m1 (8) is never a candidate because m1 never joins.
        var g = CircuitDiscovery.Greedy(G, Hand, 3, ScoreRanking.Absolute);
        Assert.Equal(new[] { "input->a1.h2<k>", "a1.h2->logits" }, Edges(g)); // m0->logits pruned: m0 has no input
        // Then <q> (4), a0.h0->a1.h2<v> (3) — a0.h0 joins but has no input yet, so n = 5 prunes it again —
        // and at n = 6 input->a0.h0<k> (1) connects it.
        var g5 = CircuitDiscovery.Greedy(G, Hand, 5, ScoreRanking.Absolute);
        Assert.Equal(new[] { "input->a1.h2<q>", "input->a1.h2<k>", "a1.h2->logits" }, Edges(g5));
        var g6 = CircuitDiscovery.Greedy(G, Hand, 6, ScoreRanking.Absolute);
        Assert.Equal(new[] { "input->a0.h0<k>", "input->a1.h2<q>", "input->a1.h2<k>", "a0.h0->a1.h2<v>", "a1.h2->logits" }, Edges(g6));
        Assert.False(CircuitDiscovery.Greedy(G, Hand, Hand.Count).Circuit.Contains("a0.h3->m1"));
        var signed = CircuitDiscovery.Greedy(G, Hand, 3, ScoreRanking.Signed);
        Assert.Equal(new[] { "input->a1.h2<q>", "a1.h2->logits" }, Edges(signed));
    }

    [Fact]
    public void ScoresForEdgesNotInTheGraphAreRejected()
    {
        var bad = new Dictionary<string, double>(Hand) { ["a9.h0->logits"] = 1 };
        var e = Assert.Throws<ArgumentException>(() => CircuitDiscovery.TopN(G, bad, 3));
        Assert.Contains("'a9.h0->logits'", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => CircuitDiscovery.TopN(G, Hand, Hand.Count + 1));
    }

    [Fact]
    public void EveryMethodIsDeterministicOnATinyModel()
    {
        var runsA = CircuitFixtures.NewGpt2Runs();
        var runsB = CircuitFixtures.NewGpt2Runs();
        var effA = EdgePatching.RunEach(runsA).Effects;
        var effB = EdgePatching.RunEach(runsB).Effects;
        Assert.Equal(effA.OrderBy(kv => kv.Key), effB.OrderBy(kv => kv.Key));
        foreach (var (a, b) in new[]
        {
            (CircuitDiscovery.TopN(runsA.Graph, effA, 25), CircuitDiscovery.TopN(runsB.Graph, effB, 25)),
            (CircuitDiscovery.Threshold(runsA.Graph, effA, 0.01), CircuitDiscovery.Threshold(runsB.Graph, effB, 0.01)),
            (CircuitDiscovery.Greedy(runsA.Graph, effA, 25), CircuitDiscovery.Greedy(runsB.Graph, effB, 25)),
            (CircuitDiscovery.Acdc(runsA, 0.02), CircuitDiscovery.Acdc(runsB, 0.02)),
        })
        {
            Assert.True(a.Circuit.SameMembersAs(b.Circuit), $"{a.Method}: {a.Circuit} vs {b.Circuit}");
            Assert.Equal(a.Parameters.OrderBy(kv => kv.Key), b.Parameters.OrderBy(kv => kv.Key));
            Assert.NotEmpty(a.Circuit.Edges);
        }
    }

    [Fact]
    public void AcdcWithTauZeroKeepsEveryEdgeAndWithInfiniteTauRemovesEverything()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var zero = CircuitDiscovery.Acdc(runs, 0);
        Assert.Equal(runs.Graph.Edges.Count, zero.Circuit.Edges.Count);
        var inf = CircuitDiscovery.Acdc(runs, double.PositiveInfinity);
        Assert.Empty(inf.Circuit.Edges);
        Assert.Equal("Infinity", inf.Parameters["tau"]);
        Assert.Equal("logit_diff", inf.Parameters["metric"]);
    }

    [Fact]
    public void AcdcWithATinyTauRemovesExactlyTheEdgesThatCannotMatter()
    {
        // Exactly zero effect, by construction: a0.h1 writes nothing (its 18 edges: 3 inputs, 15 outputs); and the
        // embedding's edges into readers that reach the last-position metric only at the last position — the last
        // layer's queries, its MLP and the logits — because clean and corrupted prompts share the last token.
        var runs = CircuitFixtures.SilencedHeadRuns(0, 1);
        var acdc = CircuitDiscovery.Acdc(runs, 1e-9);
        var removed = runs.Graph.Edges.Where(e => !acdc.Circuit.Contains(e)).Select(e => e.Name).ToList();
        int last = runs.Model.Config.NLayers - 1;
        bool LastPositionOnly(GraphEdge e) => e.Parent.Name == "input"
            && (e.Child.Node.Name == "logits" || e.Child.Node.Name == $"m{last}" || (e.Child.Node.Layer == last && e.Child.Name.EndsWith("<q>", StringComparison.Ordinal)));
        var expected = runs.Graph.Edges.Where(e => e.Parent.Name == "a0.h1" || e.Child.Node.Name == "a0.h1" || LastPositionOnly(e)).Select(e => e.Name).ToList();
        Assert.Equal(18 + 6, expected.Count);
        Assert.Equal(expected, removed);
        Assert.False(acdc.Circuit.ContainsNode("a0.h1"));
    }

    [Fact]
    public void AcdcKeepsEveryEdgeWhoseRemovalMovesTheMetricByTauOrMore()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        const double tau = 0.02;
        var acdc = CircuitDiscovery.Acdc(runs, tau);
        Assert.InRange(acdc.Circuit.Edges.Count, 1, runs.Graph.Edges.Count - 1);
        // The very first edge visited (the last in graph order) is judged against the clean run alone, so its
        // fate is fixed by its single-edge effect.
        var last = runs.Graph.Edges[^1];
        double effect = CircuitFixtures.Gpt2EdgeEffects[last.Name];
        Assert.Equal(Math.Abs(effect) >= tau, acdc.Circuit.Contains(last));
        // Each accepted removal moved the metric by < τ, so the circuit's metric is within (#removed)·τ of clean.
        int removed = runs.Graph.Edges.Count - acdc.Circuit.Edges.Count;
        double lc = CircuitEvaluation.CircuitMetric(runs, acdc.Circuit);
        Assert.True(Math.Abs(lc - runs.CleanMetric) < removed * tau, $"L(C) {lc} vs clean {runs.CleanMetric}, {removed} removed");
    }

    [Fact]
    public void AcdcCanJudgeByKlToTheCleanRun()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var kl = CircuitDiscovery.Acdc(runs, 1e-3, AcdcMetric.Kl);
        Assert.Equal("kl", kl.Parameters["metric"]);
        Assert.InRange(kl.Circuit.Edges.Count, 1, runs.Graph.Edges.Count);
    }

    [Fact]
    public void NodeTopNKeepsTheBestHeadsAndMlpsWithAllEdgesBetweenThem()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var effects = NodePatching.Run(runs, NodeSets.Build(runs.Model.Config, NodeGranularity.Component)).Effects;
        var top = CircuitDiscovery.TopNNodes(runs.Graph, effects, 3);
        var expected = effects.Where(kv => kv.Key != "input").OrderByDescending(kv => Math.Abs(kv.Value)).Take(3).Select(kv => kv.Key).ToHashSet();
        Assert.Equal(CircuitLevel.Node, top.Circuit.Level);
        Assert.Equal("top-n-nodes", top.Method);
        Assert.All(top.Circuit.Components, c => Assert.Contains(c, expected));
        foreach (var e in runs.Graph.Edges)
            Assert.Equal(top.Circuit.ContainsNode(e.Parent) && top.Circuit.ContainsNode(e.Child.Node), top.Circuit.Contains(e));
        Assert.True(top.Circuit.NodeScores.Count > 0);
        var thr = CircuitDiscovery.ThresholdNodes(runs.Graph, effects, 0.0);
        Assert.Equal(runs.Graph.Edges.Count, thr.Circuit.Edges.Count);
    }
}
