using MechTests.Hooks;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tensors;

namespace MechTests.Attribution;

/// <summary>
/// Node attribution: AtP and AtP* over any node set (components, q/k/v, neurons, per position).
/// </summary>
/// <example><code>
/// var nodes = NodeSets.Build(engine.Config, NodeGranularity.QueryKeyValue);
/// var atp = NodeAttribution.AtP(runs, nodes, Aggregation.AbsMean);
/// var star = NodeAttribution.AtPStar(runs, nodes);        // QK fix for .q/.k nodes + GradDrop, abs_mean
/// </code></example>
public static class NodeAttribution
{
    /// <summary>AtP: Î(n) = (n(corr) − n(clean)) · ∂L/∂n at the clean run, per pair, then aggregated.</summary>
    public static AttributionResult AtP(TaskRuns runs, IReadOnlyList<ActivationNode> nodes, Aggregation aggregation = Aggregation.AbsMean)
    {
        var perPair = NewScores(runs.PairCount, nodes.Count);
        var estimated = nodes.Select(n => EstimateSlice(runs.Model.Config, n)).ToArray();
        var hooks = HookFilter.Only(estimated.Select(n => n.Hook).Distinct().ToArray());
        int offset = 0;
        foreach (var batch in runs.Batches)
        {
            using var pass = Gradients.OfClean(runs, batch, hooks);
            var all = LinearEach(estimated, batch, pass.Gradients, _ => true);
            for (int j = 0; j < nodes.Count; j++)
            {
                var est = all[j]!;
                for (int i = 0; i < est.Length; i++) perPair[offset + i][j] = est[i];
            }
            offset += batch.Pairs.Length;
        }
        return new AttributionResult(AttributionMethod.AtP, aggregation, Level(nodes), nodes.Select(n => n.Name).ToList(), perPair);
    }

    /// <summary>
    /// AtP*: for each layer ℓ a backward pass with ℓ's residual write dropped; each node's estimate under it (exact
    /// attention recomputation for query and key nodes, linear otherwise); score = mean over pairs of
    /// (1/(L−1)) Σ_ℓ |Î_ℓ| (1/L for the input node). Always <c>abs_mean</c>.
    /// </summary>
    public static AttributionResult AtPStar(TaskRuns runs, IReadOnlyList<ActivationNode> nodes, bool qkFix = true, bool gradDrop = true)
    {
        var c = runs.Model.Config;
        int layers = c.NLayers;
        var perPair = NewScores(runs.PairCount, nodes.Count);
        var estimated = nodes.Select(n => EstimateSlice(c, n)).ToArray();
        var hookNames = estimated.Select(n => n.Hook).ToHashSet();
        // The QK fix reads ∂L/∂pattern, only where there are query or key nodes.
        if (qkFix) foreach (var n in nodes) if (n.IsQuery || n.IsKey) hookNames.Add(HookNames.Pattern(n.Layer));
        var hooks = HookFilter.Where(hookNames.Contains);
        int offset = 0;
        foreach (var batch in runs.Batches)
        {
            using var single = gradDrop ? null : Gradients.OfClean(runs, batch, hooks);
            var variants = single is null ? Gradients.GradDropVariants(runs, batch, hooks) : new[] { single.Gradients };
            bool Exact(ActivationNode n) => qkFix && (n.IsQuery || n.IsKey);
            foreach (var grads in variants)
            {
                var linear = LinearEach(estimated, batch, grads, j => !Exact(nodes[j]));
                for (int j = 0; j < nodes.Count; j++)
                {
                    var n = nodes[j];
                    var est = Exact(n) ? QkFix.NodeEstimate(c, n, batch, grads) : linear[j]!;
                    for (int i = 0; i < est.Length; i++)
                        perPair[offset + i][j] += gradDrop ? Math.Abs(est[i]) / Gradients.GradDropDivisor(layers, n.Layer >= 0) : est[i];
                }
            }
            offset += batch.Pairs.Length;
        }
        var parameters = new Dictionary<string, string>
        {
            ["qk_fix"] = qkFix ? "true" : "false",
            ["graddrop"] = gradDrop ? "true" : "false",
            ["graddrop_divisor"] = "L-1 for nodes in blocks, L for input",
        };
        return new AttributionResult(AttributionMethod.AtPStar, gradDrop ? Aggregation.AbsMean : Aggregation.SignedMean, Level(nodes),
            nodes.Select(n => n.Name).ToList(), perPair, parameters);
    }

    /// <summary>
    /// The slice a node's first-order estimate reads. A head's output <c>result_h = z_h·W_O[h]</c> enters the residual
    /// stream only through the sum over heads, so Δresult_h·∂L/∂result_h = Δz_h·∂L/∂z_h (equal up to rounding): the estimate reads
    /// d_head floats per position instead of d_model, and the backward pass need not write H copies of ∂L/∂attn_out.
    /// </summary>
    internal static ActivationNode EstimateSlice(ModelConfig c, ActivationNode n) =>
        n.Layer >= 0 && n.Unit >= 0 && n.Hook == HookNames.Result(n.Layer)
            ? n with { Hook = HookNames.Z(n.Layer), UnitSize = c.DHead, Features = c.NHeads * c.DHead }
            : n;

    /// <summary>
    /// <see cref="Linear"/> for every node <paramref name="wanted"/> selects (null for the others). Nodes that are units
    /// of one hook (neurons, heads) share one sequential sweep over it instead of one strided walk each: 36,864
    /// neurons would otherwise touch every cache line of their hook once per neuron. Same sums in the same order.
    /// </summary>
    internal static double[]?[] LinearEach(IReadOnlyList<ActivationNode> nodes, PairBatch batch, ActivationCache grads, Func<int, bool> wanted)
    {
        var result = new double[]?[nodes.Count];
        var units = Enumerable.Range(0, nodes.Count).Where(wanted).GroupBy(j => nodes[j].Unit < 0 ? (object)j
            : (nodes[j].Hook, nodes[j].UnitSize, nodes[j].Features, nodes[j].Position));
        foreach (var group in units)
        {
            var members = group.ToArray();
            var n0 = nodes[members[0]];
            if (n0.Unit < 0 || members.Length == 1)
            {
                foreach (int j in members) result[j] = Linear(nodes[j], batch, grads);
                continue;
            }
            var sums = SweepUnits(n0, batch, grads);
            int k = batch.Pairs.Length, count = n0.Features / n0.UnitSize;
            foreach (int j in members)
            {
                var est = new double[k];
                for (int i = 0; i < k; i++) est[i] = sums[i * count + nodes[j].Unit];
                result[j] = est;
            }
        }
        return result;
    }

    /// <summary>Per-pair first-order estimate Σ (corr − clean)·grad over the node's slice.</summary>
    internal static double[] Linear(ActivationNode n, PairBatch batch, ActivationCache grads) =>
        n.Unit < 0 ? Sums(n, batch, grads, n.Features, 0, 1) : Sums(n, batch, grads, n.UnitSize, n.Unit, 1);

    /// <summary><see cref="Linear"/> of every unit of the node's hook, at [pair · units + unit].</summary>
    private static double[] SweepUnits(ActivationNode n, PairBatch batch, ActivationCache grads) =>
        Sums(n, batch, grads, n.UnitSize, 0, n.Features / n.UnitSize);

    /// <summary>
    /// Σ (corr − clean)·grad per pair over units [first, first + count) of <paramref name="size"/> features each, at
    /// the node's position (or all), summed per unit in position then feature order.
    /// </summary>
    private static double[] Sums(ActivationNode n, PairBatch batch, ActivationCache grads, int size, int first, int count)
    {
        var clean = batch.Clean.Cache[n.Hook].Data;
        var corr = batch.Corrupted.Cache[n.Hook].Data;
        var g = grads[n.Hook].Data;
        int k = batch.Pairs.Length, t = batch.Positions, f = n.Features;
        var sums = new double[k * count];
        for (int i = 0; i < k; i++)
        {
            var row = sums.AsSpan(i * count, count);
            for (int p = 0; p < t; p++)
            {
                if (n.Position >= 0 && p != n.Position) continue;
                int x = ((i * t) + p) * f + first * size;
                for (int u = 0; u < count; u++)
                {
                    double s = row[u];
                    for (int end = x + size; x < end; x++) s += (double)(corr[x] - clean[x]) * g[x];
                    row[u] = s;
                }
            }
        }
        return sums;
    }

    internal static double[][] NewScores(int pairs, int count)
    {
        var a = new double[pairs][];
        for (int i = 0; i < pairs; i++) a[i] = new double[count];
        return a;
    }

    internal static string Level(IReadOnlyList<ActivationNode> nodes)
    {
        if (nodes.Count == 0) return "node";
        string kind = nodes[0].Hook.EndsWith("mlp.hook_post", StringComparison.Ordinal) ? "neuron"
            : nodes[0].Name.Contains(".q", StringComparison.Ordinal) || nodes[0].Name.Contains(".k", StringComparison.Ordinal) ? "qkv" : "node";
        return nodes[0].Position >= 0 ? kind + "@position" : kind;
    }
}
