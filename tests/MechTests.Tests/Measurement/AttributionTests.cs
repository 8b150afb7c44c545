using MechTests.Attribution;
using MechTests.Graphs;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using MechTests.Tensors;
using Xunit;

namespace MechTests.Tests.Measurement;

public class AttributionTests
{
    [Fact]
    public void QkFixClosedFormEqualsBruteForceSoftmax()
    {
        var rng = new Random(4);
        for (int trial = 0; trial < 500; trial++)
        {
            int n = 1 + rng.Next(12);
            // Include saturated rows (large logits) and large logit moves.
            double spread = trial % 3 == 0 ? 40 : 3;
            var logits = Enumerable.Range(0, n).Select(_ => (rng.NextDouble() - 0.5) * spread).ToArray();
            var g = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            int s = rng.Next(n);
            double delta = (rng.NextDouble() - 0.5) * (trial % 2 == 0 ? 30 : 2);
            var moved = (double[])logits.Clone();
            moved[s] += delta;
            double brute = QkFix.BruteForce(logits, moved, g);
            double max = logits.Max();
            var a = logits.Select(x => Math.Exp(x - max)).ToArray();
            double z = a.Sum();
            for (int j = 0; j < n; j++) a[j] /= z;
            double gBar = Enumerable.Range(0, n).Sum(j => a[j] * g[j]);
            double closed = QkFix.ClosedForm(a[s], delta, g[s], gBar);
            Assert.True(Math.Abs(brute - closed) < 1e-9, $"trial {trial}: brute {brute} vs closed form {closed}");
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("neox")]
    [InlineData("llama")]
    public void AtPEqualsPatchingWhenNothingNonlinearIsDownstream(string family)
    {
        // The final norm's output feeds only the unembedding and a linear metric (logit difference).
        var (engine, task) = TinyTasks.Create(family);
        var runs = TaskRuns.Create(engine, task);
        var d = engine.Config.DModel;
        var node = new ActivationNode("ln_final", HookNames.LnFinal, engine.Config.NLayers, -1, d, d, -1);
        var nodes = new[] { node };
        AddCache(runs, HookNames.LnFinal);
        var atp = NodeAttribution.AtP(runs, nodes, Aggregation.SignedMean);
        var patch = NodePatching.Run(runs, nodes);
        Assert.True(Math.Abs(atp.Scores["ln_final"] - patch.Effects["ln_final"]) < 1e-4 * Math.Max(1, Math.Abs(patch.Effects["ln_final"])),
            $"AtP {atp.Scores["ln_final"]} vs patching {patch.Effects["ln_final"]}");
        Assert.True(Math.Abs(patch.Effects["ln_final"]) > 1e-3);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("neox")]
    [InlineData("llama")]
    public void OneSweepPerHookGivesEachNodesOwnEstimateBitForBit(string family)
    {
        var (engine, task) = TinyTasks.Create(family);
        using var runs = TaskRuns.Create(engine, task);
        var c = engine.Config;
        var batch = runs.Batches[0];
        var nodes = new[] { NodeGranularity.Component, NodeGranularity.QueryKeyValue, NodeGranularity.Neuron }
            .SelectMany(g => NodeSets.Build(c, g)).Select(n => NodeAttribution.EstimateSlice(c, n))
            .Concat(NodeSets.Build(c, NodeGranularity.Neuron, positions: batch.Positions).Where((_, i) => i % 7 == 0))
            .ToList();
        var hooks = HookFilter.Only(nodes.Select(n => n.Hook).Distinct().ToArray());
        using var pass = Gradients.OfClean(runs, batch, hooks);
        var skipped = nodes.Count / 2;
        var each = NodeAttribution.LinearEach(nodes, batch, pass.Gradients, j => j != skipped);
        Assert.Null(each[skipped]);
        // The definition, written out: Σ over the node's positions and slice of (corr − clean)·grad, per pair.
        double[] Expected(ActivationNode n)
        {
            var clean = batch.Clean.Cache[n.Hook];
            var corr = batch.Corrupted.Cache[n.Hook];
            var g = pass.Gradients[n.Hook];
            int lo = n.Unit < 0 ? 0 : n.Unit * n.UnitSize, len = n.Unit < 0 ? n.Features : n.UnitSize;
            return Enumerable.Range(0, batch.Pairs.Length).Select(i =>
            {
                double s = 0;
                for (int p = 0; p < batch.Positions; p++)
                    if (n.Position < 0 || p == n.Position)
                        for (int x = lo; x < lo + len; x++)
                        {
                            int o = (i * batch.Positions + p) * n.Features + x;
                            s += (double)(corr.Data[o] - clean.Data[o]) * g.Data[o];
                        }
                return s;
            }).ToArray();
        }
        int nonzero = 0;
        for (int j = 0; j < nodes.Count; j++)
        {
            if (j == skipped) continue;
            var expected = Expected(nodes[j]);
            Assert.Equal(expected, each[j]!);
            Assert.Equal(expected, NodeAttribution.Linear(nodes[j], batch, pass.Gradients));
            if (expected.Any(x => x != 0)) nonzero++;
        }
        Assert.True(nonzero > nodes.Count / 2, $"{family}: only {nonzero} of {nodes.Count} estimates are non-zero");
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("neox")]
    [InlineData("llama")]
    public void AHeadsEstimateInZSpaceEqualsItsEstimateOnTheHeadsResidualWrite(string family)
    {
        // Attribution reads Δz·∂L/∂z for head nodes; patching and the graph use hook_result. They must agree.
        var (engine, task) = TinyTasks.Create(family);
        using var runs = TaskRuns.Create(engine, task);
        var c = engine.Config;
        var heads = NodeSets.Build(c, NodeGranularity.Component).Where(n => n.Unit >= 0).ToList();
        Assert.Equal(c.NLayers * c.NHeads, heads.Count);
        var batch = runs.Batches[0];
        var both = HookFilter.Where(n => n.EndsWith("attn.hook_result", StringComparison.Ordinal) || n.EndsWith("attn.hook_z", StringComparison.Ordinal));
        using var pass = Gradients.OfClean(runs, batch, both);
        double largest = 0;
        foreach (var n in heads)
        {
            var inZ = NodeAttribution.EstimateSlice(c, n);
            Assert.Equal(HookNames.Z(n.Layer), inZ.Hook);
            var viaResult = NodeAttribution.Linear(n, batch, pass.Gradients);
            var viaZ = NodeAttribution.Linear(inZ, batch, pass.Gradients);
            for (int i = 0; i < viaResult.Length; i++)
            {
                largest = Math.Max(largest, Math.Abs(viaResult[i]));
                Assert.True(Math.Abs(viaResult[i] - viaZ[i]) <= 1e-5 * Math.Max(1, Math.Abs(viaResult[i])),
                    $"{family} {n.Name} pair {i}: Δresult·g {viaResult[i]} vs Δz·g {viaZ[i]}");
            }
        }
        Assert.True(largest > 1e-3, $"{family}: every head estimate is ~0 ({largest}); the comparison would be vacuous");
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("neox")]
    [InlineData("llama")]
    public void GradDropScoreOfANodeWithOnlyADirectEffectEqualsAbsAtP(string family)
    {
        var (engine, task) = TinyTasks.Create(family);
        var runs = TaskRuns.Create(engine, task);
        int last = engine.Config.NLayers - 1;
        var nodes = NodeSets.Build(engine.Config, NodeGranularity.Component)
            .Where(n => n.Name == $"m{last}" || (engine.Config.ParallelAttnMlp && n.Layer == last)).ToList();
        var atp = NodeAttribution.AtP(runs, nodes, Aggregation.AbsMean);
        var star = NodeAttribution.AtPStar(runs, nodes);
        for (int i = 0; i < runs.PairCount; i++)
        for (int j = 0; j < nodes.Count; j++)
            Assert.True(Math.Abs(star.PerPair[i][j] - Math.Abs(atp.PerPair[i][j])) <= 1e-6 * Math.Max(1, Math.Abs(atp.PerPair[i][j])),
                $"{nodes[j].Name} pair {i}: GradDrop {star.PerPair[i][j]} vs |AtP| {Math.Abs(atp.PerPair[i][j])}");
        Assert.Equal("abs_mean", star.AggregationName);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("neox")]
    [InlineData("llama")]
    public void EapEqualsTheGradientOfAnEdgeMaskAtZero(string family)
    {
        var (engine, task) = TinyTasks.Create(family);
        var runs = TaskRuns.Create(engine, task);
        var eap = EdgeAttribution.Eap(runs);
        var c = engine.Config;
        var rng = new Random(2);
        var batch = runs.Batches[0];
        for (int trial = 0; trial < 8; trial++)
        {
            var e = runs.Graph.Edges[rng.Next(runs.Graph.Edges.Count)];
            var (hook, _) = EdgePatching.InputHook(e.Child, c);
            var delta = batch.NodeDelta(e.Parent, c).Data;
            bool head = e.Child.Node.Kind == NodeKind.Head;
            int features = head ? c.NHeads * c.DModel : c.DModel, lo = head ? e.Child.Node.Head * c.DModel : 0;
            double[] Metric(float mask)
            {
                // in_v = Σ_u z_u + m_uv (z'_u − z_u): the edge mask of auto-circuit.
                var iv = new Intervention(hook, (act, _) =>
                {
                    for (int row = 0; row < act.Length / features; row++)
                    for (int x = 0; x < c.DModel; x++)
                        act.Data[row * features + lo + x] += mask * delta[row * c.DModel + x];
                });
                var pass = engine.Run(batch.CleanTokens, new RunOptions { Interventions = { iv } });
                return TaskMetric.Values(task.Metric, pass.Logits, batch.Pairs);
            }
            const float eps = 1e-2f;
            var up = Metric(eps);
            var down = Metric(-eps);
            for (int i = 0; i < batch.Pairs.Length; i++)
            {
                double fd = (up[i] - down[i]) / (2 * eps);
                double score = eap.PerPair[i][e.Index];
                Assert.True(Math.Abs(fd - score) <= 2e-3 + 1e-2 * Math.Abs(score), $"{e.Name} pair {i}: EAP {score} vs dL/dmask {fd}");
            }
        }
    }

    [Fact]
    public void EapIgWithOneStepIsEapFromTheCorruptedEndpoint()
    {
        // m = 1 evaluates the gradient only at k = 0, the corrupted input, so it differs from EAP's clean gradient.
        var (engine, task) = TinyTasks.Create("gpt2");
        var runs = TaskRuns.Create(engine, task);
        var ig1 = EdgeAttribution.EapIg(runs, steps: 1);
        var ig5 = EdgeAttribution.EapIg(runs, steps: 5);
        var eap = EdgeAttribution.Eap(runs);
        Assert.Equal("5", ig5.Parameters["steps"]);
        Assert.Contains(ig1.Scores, kv => Math.Abs(kv.Value - eap.Scores[kv.Key]) > 1e-4);
        // With more steps the estimate moves toward the path integral; it stays finite and signed.
        Assert.All(ig5.Scores.Values, v => Assert.True(double.IsFinite(v)));
        Assert.Equal("signed_mean", ig5.AggregationName);
    }

    [Fact]
    public void AgreementReportRanksAndCostsAsDefined()
    {
        var effects = new Dictionary<string, double> { ["a"] = 5, ["b"] = -4, ["c"] = 0.1, ["d"] = 0.05, ["e"] = 3 };
        var perfect = new Dictionary<string, double> { ["a"] = 50, ["b"] = 40, ["c"] = 1, ["d"] = 0.5, ["e"] = 30 };
        var r1 = AgreementReport.Compute(perfect, effects, topK: 3);
        Assert.Equal(1.0, r1.Spearman, 9);
        Assert.Equal(1.0, r1.TopKRecall);
        Assert.Equal(1.0, r1.RelativeCost);
        // "b" ranked last: all of the true top 3 are verified only after 5 passes.
        var bad = new Dictionary<string, double> { ["a"] = 5, ["b"] = 0, ["c"] = 4, ["d"] = 3, ["e"] = 2 };
        var r2 = AgreementReport.Compute(bad, effects, topK: 3);
        Assert.Equal(5, r2.VerificationCost);
        Assert.Equal(5 / 3.0, r2.RelativeCost, 9);
        Assert.Equal(1 / 3.0, r2.TopKRecall, 9);
        Assert.Equal(new[] { "b", "e" }, r2.MissedTopK);
        Assert.Equal(0.1, AgreementReport.SpearmanCorrelation(new double[] { 5, 0, 4, 3, 2 }, new double[] { 5, 4, 0.1, 0.05, 3 }), 9);
    }

    [Fact]
    public void ZeroFailureBoundFollowsTheFormula()
    {
        Assert.Equal(1 - Math.Pow(0.05, 1.0 / 50), Subsampling.ZeroFailureBound(50, 0.05), 12);
        Assert.True(Subsampling.ZeroFailureBound(200, 0.05) < Subsampling.ZeroFailureBound(50, 0.05));
    }

    [Fact]
    public void SubsamplingEstimatorFollowsTheSignOfTheStrongestEffect()
    {
        // Patching many nodes at once is not additive in general, but the estimator's sign must follow the
        // dominant single-node effect.
        var (engine, task) = TinyTasks.Create("gpt2");
        var runs = TaskRuns.Create(engine, task);
        var pool = NodeSets.Build(engine.Config, NodeGranularity.Component).Where(n => n.Layer >= 0).ToList();
        var patch = NodePatching.Run(runs, pool);
        var ss = Subsampling.Estimate(runs, pool, samples: 300, p: 0.2, seed: 3);
        var strongest = patch.Effects.OrderByDescending(kv => Math.Abs(kv.Value)).First();
        Assert.Equal(Math.Sign(strongest.Value), Math.Sign(ss.Estimates[strongest.Key]));
        Assert.Equal(300, ss.Samples);
    }

    private static void AddCache(TaskRuns runs, string hook)
    {
        // The ln_final hook is not among the cached ones; re-run both prompts caching it.
        foreach (var b in runs.Batches)
        {
            var c1 = runs.Model.Run(b.CleanTokens, new RunOptions { Cache = HookFilter.Only(hook) }).Cache[hook];
            var c2 = runs.Model.Run(b.CorruptedTokens, new RunOptions { Cache = HookFilter.Only(hook) }).Cache[hook];
            b.Clean.Cache.Set(hook, c1);
            b.Corrupted.Cache.Set(hook, c2);
        }
    }
}
