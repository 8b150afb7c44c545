using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

public class EvaluationTests
{
    [Fact]
    public void TheEmptyCircuitHasFaithfulnessZeroAndTheFullGraphOne()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var empty = CircuitEvaluation.Faithfulness(runs, Circuit.Empty(runs.Graph));
        var full = CircuitEvaluation.Faithfulness(runs, Circuit.Full(runs.Graph));
        Assert.True(Math.Abs(empty.Value) < 1e-6, $"f(empty) = {empty.Value}");
        Assert.True(Math.Abs(full.Value - 1) < 1e-6, $"f(full) = {full.Value}");
        Assert.Equal("corrupted-patch", full.Conventions.Ablation);
        Assert.Equal("complement", full.Conventions.Patched);
        Assert.Equal("all", full.Conventions.Positions);
        Assert.Equal("logit_diff", full.Conventions.Metric);
        Assert.Equal(runs.Graph.Edges.Count, full.Edges);
    }

    [Fact]
    public void FaithfulnessIsNotClampedAndAgreesWithSingleEdgePatching()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        double denom = runs.CleanMetric - runs.CorruptedMetric;
        // Patching the edge with the most positive effect raises the metric above clean: the full graph minus that
        // edge must score f = 1 + effect/denom > 1, reported as is.
        var (up, upEffect) = CircuitFixtures.Gpt2EdgeEffects.MaxBy(kv => kv.Value);
        var (down, downEffect) = CircuitFixtures.Gpt2EdgeEffects.MinBy(kv => kv.Value);
        Assert.True(upEffect > 0 && downEffect < 0, "the tiny model needs edges of both signs for this test");
        var f = CircuitEvaluation.Faithfulness(runs, Circuit.Full(runs.Graph).WithoutEdges([up]));
        Assert.True(f.Value > 1, $"f = {f.Value}");
        Assert.True(Math.Abs(f.Value - (1 + upEffect / denom)) < 1e-5, $"{f.Value} vs {1 + upEffect / denom}");
        var g = CircuitEvaluation.Faithfulness(runs, Circuit.Full(runs.Graph).WithoutEdges([down]));
        Assert.True(Math.Abs(g.Value - (1 + downEffect / denom)) < 1e-5, $"{g.Value} vs {1 + downEffect / denom}");
    }

    [Fact]
    public void TrapezoidCprAndCmdMatchHandComputedAreas()
    {
        double[] x = [0, 0.5, 1];
        Assert.Equal(0.5, CircuitEvaluation.Cpr(x, [0, 0.5, 1]), 12);
        Assert.Equal(0.5, CircuitEvaluation.Cmd(x, [0, 0.5, 1]), 12);
        // f overshoots: CPR = 0.5·(0+2)/2 + 0.5·(2+1)/2 = 1.25; CMD over |1−f| = [1, 1, 0] → 0.5 + 0.25 = 0.75.
        Assert.Equal(1.25, CircuitEvaluation.Cpr(x, [0, 2, 1]), 12);
        Assert.Equal(0.75, CircuitEvaluation.Cmd(x, [0, 2, 1]), 12);
        // On the MIB grid a perfect curve (f = 1 everywhere) covers 1 − 0.001.
        var grid = CircuitEvaluation.MibPercents.Select(p => p / 100).ToArray();
        Assert.Equal(0.999, CircuitEvaluation.Cpr(grid, grid.Select(_ => 1.0).ToArray()), 12);
        Assert.Equal(0.0, CircuitEvaluation.Cmd(grid, grid.Select(_ => 1.0).ToArray()), 12);
        // f = fraction: CPR = Σ (x1−x0)(x0+x1)/2 = (1 − 0.001²)/2.
        Assert.Equal((1 - 1e-6) / 2, CircuitEvaluation.Cpr(grid, grid), 12);
        Assert.Throws<ArgumentException>(() => CircuitEvaluation.Trapezoid([1, 0], [0, 0]));
    }

    [Fact]
    public void AFaithfulnessCurveOnTheMibGridIsConsistentWithItsPoints()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var scores = CircuitFixtures.Gpt2EdgeEffects;
        var signed = CircuitEvaluation.FaithfulnessCurve(runs, scores, ScoreRanking.Signed);
        var abs = CircuitEvaluation.FaithfulnessCurve(runs, scores, ScoreRanking.Absolute, axis: CurveAxis.Actual);
        Assert.Equal(ScoreRanking.Signed, signed.Ranking);
        Assert.Equal(10, signed.Points.Count);
        Assert.Equal([0, 0, 1, 1, 2, 6, 11, 22, 55, 110], signed.Points.Select(p => p.RequestedEdges));
        Assert.True(Math.Abs(signed.Points[^1].Faithfulness - 1) < 1e-6);
        Assert.True(Math.Abs(signed.Points[0].Faithfulness) < 1e-6);
        // Top-k sets are nested and pruning is monotone, so pruned sizes never shrink along the grid.
        for (int i = 1; i < abs.Points.Count; i++) Assert.True(abs.Points[i].Edges >= abs.Points[i - 1].Edges);
        Assert.Equal(CircuitEvaluation.Cpr(signed.X, signed.Points.Select(p => p.Faithfulness).ToList()), signed.Cpr, 12);
        Assert.Equal(CircuitEvaluation.Cmd(abs.X, abs.Points.Select(p => p.Faithfulness).ToList()), abs.Cmd, 12);
        Assert.Equal(abs.Points.Select(p => (double)p.Edges / 110), abs.X);
        // Each point's f equals the faithfulness of that circuit evaluated on its own.
        var p50 = abs.Points[^2];
        var order = ScoreRanking.Absolute.Order(runs.Graph.Edges.Select(e => scores[e.Name]).ToArray());
        var c = Circuit.FromEdges(runs.Graph, order.Take(p50.RequestedEdges).Select(i => runs.Graph.Edges[i])).Prune();
        Assert.Equal(CircuitEvaluation.Faithfulness(runs, c).Value, p50.Faithfulness, 12);
    }

    [Fact]
    public void TheFullGraphIsCompleteForEveryKnockedOutSet()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var r = CircuitEvaluation.Completeness(runs, Circuit.Full(runs.Graph), new CompletenessOptions { RandomSets = 3, GreedySteps = 1, GreedyCandidates = 4, Seed = 2 });
        Assert.Equal(0, r.WorstIncompleteness); // C = M: both runs are the same computation
        Assert.Equal(1 + 3 + 4, r.SetsTried);
        Assert.Equal("empty", r.Probes[0].Source);
    }

    [Fact]
    public void CompletenessFindsTheWorstSetAndIsReproducibleForASeed()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var circuit = CircuitDiscovery.TopN(runs.Graph, CircuitFixtures.Gpt2EdgeEffects, 12).Circuit;
        var options = new CompletenessOptions { RandomSets = 4, GreedySteps = 2, Seed = 7 };
        var progress = new CountingProgress();
        var a = CircuitEvaluation.Completeness(runs, circuit, options, progress);
        var b = CircuitEvaluation.Completeness(runs, circuit, options);
        Assert.Equal(a.Probes.Select(p => string.Join(",", p.Removed)), b.Probes.Select(p => string.Join(",", p.Removed)));
        Assert.Equal(a.WorstIncompleteness, b.WorstIncompleteness);
        Assert.Equal(2 * a.SetsTried, progress.Total);
        // K = ∅ measures the plain gap |L(C) − L(M)|.
        Assert.Equal(Math.Abs(CircuitEvaluation.CircuitMetric(runs, circuit) - EdgeMetricNone(runs)), a.Probes[0].Incompleteness, 9);
        Assert.Equal(a.Probes.Max(p => p.Incompleteness), a.WorstIncompleteness);
        Assert.True(a.WorstIncompleteness >= a.Probes[0].Incompleteness);
        Assert.Equal(a.WorstIncompleteness / Math.Abs(runs.CleanMetric - runs.CorruptedMetric), a.WorstNormalized, 12);
        // Greedy step 2 extends the best single component, so every step-2 set contains the step-1 winner.
        var greedy = a.Probes.Where(p => p.Source == "greedy").ToList();
        var step1 = greedy.Where(p => p.Removed.Count == 1).MaxBy(p => p.Incompleteness)!;
        Assert.All(greedy.Where(p => p.Removed.Count == 2), p => Assert.Contains(step1.Removed[0], p.Removed));
        // Recompute the worst K by hand: knock its edges out of the circuit run and of the full model.
        var k = a.Worst.Removed.ToHashSet();
        double fc = MechTests.Patching.EdgePatching.MetricWithPatchedEdges(runs, e => !circuit.Contains(e) || k.Contains(e.Name)).Average();
        double fm = MechTests.Patching.EdgePatching.MetricWithPatchedEdges(runs, e => k.Contains(e.Name)).Average();
        Assert.Equal(Math.Abs(fc - fm), a.WorstIncompleteness, 12);
    }

    [Fact]
    public void MinimalityDropsMatchSingleEdgeEffectsOnTheFullGraph()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        double denom = runs.CleanMetric - runs.CorruptedMetric;
        const double delta = 0.01;
        var m = CircuitEvaluation.Minimality(runs, Circuit.Full(runs.Graph), delta);
        Assert.Equal(runs.Graph.Edges.Count, m.Drops.Count);
        foreach (var d in m.Drops)
        {
            double expected = -CircuitFixtures.Gpt2EdgeEffects[d.Component] / denom; // f(M) − f(M \ e)
            Assert.True(Math.Abs(d.Drop - expected) < 1e-5, $"{d.Component}: drop {d.Drop} vs {expected}");
        }
        Assert.Equal(m.Drops.Where(d => d.Drop < delta).Select(d => d.Component), m.NotNecessary.Select(d => d.Component)); // graph order
        Assert.False(m.IsMinimal); // the full graph of a random model is never minimal
        Assert.Equal("complement+v", m.Conventions.Patched);
    }

    [Fact]
    public void NodeLevelMinimalityRemovesWholeNodes()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var circuit = Circuit.FromNodes(runs.Graph, ["a0.h0", "a1.h2", "m1"]);
        var m = CircuitEvaluation.Minimality(runs, circuit, 0.05);
        Assert.Equal(["a0.h0", "a1.h2", "m1"], m.Drops.Select(d => d.Component));
        Assert.Equal("node", m.Conventions.Level);
        double without = CircuitEvaluation.Faithfulness(runs, circuit.WithoutNodes(["a1.h2"])).Value;
        Assert.Equal(m.Faithfulness - without, m.Drops[1].Drop, 12);
    }

    private static double EdgeMetricNone(MechTests.Patching.TaskRuns runs)
        => MechTests.Patching.EdgePatching.MetricWithPatchedEdges(runs, _ => false).Average();

    private sealed class CountingProgress : IProgress<int>
    {
        public int Total { get; private set; }
        public void Report(int value) => Total += value;
    }
}
