using MechTests.Graphs;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using MechTests.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MechTests.Attribution;

/// <summary>
/// Edge attribution over the residual-stream graph: EAP, EAP-IG (inputs) and AtP* (EAP + QK fix on &lt;q&gt;/&lt;k&gt;
/// ports + GradDrop). Scores of every edge come from one score matrix per pair, [forward nodes × inputs], in the
/// EAP-IG index scheme.
/// </summary>
/// <example><code>
/// var eap = EdgeAttribution.Eap(runs);                       // signed_mean
/// var ig = EdgeAttribution.EapIg(runs, steps: 5);            // corrupted endpoint included, clean excluded
/// var star = EdgeAttribution.AtPStar(runs);                  // abs_mean
/// </code></example>
public static class EdgeAttribution
{
    /// <summary>EAP: S(u→v) = (z_u(corr) − z_u(clean)) · ∂L/∂in_v at the clean run.</summary>
    public static AttributionResult Eap(TaskRuns runs, Aggregation aggregation = Aggregation.SignedMean)
    {
        var perPair = NodeAttribution.NewScores(runs.PairCount, runs.Graph.Edges.Count);
        int offset = 0;
        foreach (var batch in runs.Batches)
        {
            using var pass = Gradients.OfClean(runs, batch, InputHooks(runs.Model.Config));
            Accumulate(runs, batch, pass.Gradients, perPair, offset, (i, e, s) => s);
            offset += batch.Pairs.Length;
        }
        return Result(runs, AttributionMethod.Eap, aggregation, perPair, new Dictionary<string, string>());
    }

    /// <summary>
    /// EAP-IG (inputs): the gradient at every input averaged over m runs whose input embeddings are interpolated
    /// z' + (k/m)(z − z'), k = 0..m−1 (corrupted endpoint included, clean excluded, as the reference implementation).
    /// </summary>
    public static AttributionResult EapIg(TaskRuns runs, int steps = 5, Aggregation aggregation = Aggregation.SignedMean)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), $"steps must be ≥ 1 (got {steps}).");
        var c = runs.Model.Config;
        var perPair = NodeAttribution.NewScores(runs.PairCount, runs.Graph.Edges.Count);
        var hooks = InputHooks(c);
        int offset = 0;
        foreach (var batch in runs.Batches)
        {
            var clean = batch.Clean.Cache[HookNames.Embed].Data;
            var corr = batch.Corrupted.Cache[HookNames.Embed].Data;
            ActivationCache? sum = null;
            for (int k = 0; k < steps; k++)
            {
                float alpha = (float)k / steps;
                var mix = new float[clean.Length];
                for (int x = 0; x < mix.Length; x++) mix[x] = corr[x] + alpha * (clean[x] - corr[x]);
                using var pass = runs.Model.Run(batch.CleanTokens, new RunOptions
                {
                    RecordForBackward = true,
                    Interventions = { Intervention.Replace(HookNames.Embed, new Tensor(mix, batch.Clean.Cache[HookNames.Embed].Shape)) },
                });
                var (_, dLogits) = TaskMetric.ValuesAndGradient(runs.Task.Metric, pass.Logits, batch.Pairs, batch.CleanLogProbs);
                var step = runs.Model.Backward(pass, dLogits, new BackwardOptions { Gradients = hooks });
                if (sum == null) sum = step.Gradients; // kept (never disposed): it becomes the running sum
                else
                {
                    foreach (var name in step.Gradients.Names) TensorPrimitives.Add(sum[name].Data, step.Gradients[name].Data, sum[name].Data);
                    step.Dispose();
                }
            }
            foreach (var name in sum!.Names) TensorPrimitives.Multiply(sum[name].Data, 1f / steps, sum[name].Data);
            Accumulate(runs, batch, sum, perPair, offset, (i, e, s) => s);
            offset += batch.Pairs.Length;
        }
        return Result(runs, AttributionMethod.EapIg, aggregation, perPair, new Dictionary<string, string>
        {
            ["steps"] = steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["endpoints"] = "k=0..m-1 (corrupted included, clean excluded)",
            ["interpolated"] = "input embeddings",
        });
    }

    /// <summary>
    /// AtP* for edges: for each layer ℓ, a backward pass with ℓ's residual write dropped; edges into &lt;q&gt;/&lt;k&gt;
    /// ports use the exact attention change (QK fix), the rest the EAP estimate; score = mean over pairs of
    /// (1/(L−1)) Σ_ℓ |S_ℓ| (1/L for edges into <c>logits</c>). <c>abs_mean</c>.
    /// </summary>
    public static AttributionResult AtPStar(TaskRuns runs, bool qkFix = true, bool gradDrop = true, IProgress<int>? progress = null)
    {
        var c = runs.Model.Config;
        int layers = c.NLayers;
        var perPair = NodeAttribution.NewScores(runs.PairCount, runs.Graph.Edges.Count);
        var names = new HashSet<string>();
        var inputHooks = InputHooks(c);
        for (int l = 0; l < layers; l++) names.Add(HookNames.Pattern(l));
        var hooks = HookFilter.Where(n => names.Contains(n) || inputHooks.Matches(n));
        int offset = 0;
        foreach (var batch in runs.Batches)
        {
            var deltaA = qkFix ? AttentionChanges(runs, batch) : new Dictionary<int, float[]>();
            using var single = gradDrop ? null : Gradients.OfClean(runs, batch, hooks);
            var variants = single is null ? Gradients.GradDropVariants(runs, batch, hooks) : new[] { single.Gradients };
            foreach (var grads in variants)
            {
                Accumulate(runs, batch, grads, perPair, offset, (i, e, s) =>
                {
                    if (deltaA.TryGetValue(e.Index, out var dA)) s = PatternDot(c, batch, grads, e, dA, i);
                    return gradDrop ? Math.Abs(s) / Gradients.GradDropDivisor(layers, e.Child.Node.Kind != NodeKind.Logits) : s;
                }, accumulate: true);
                progress?.Report(1);
            }
            offset += batch.Pairs.Length;
        }
        return Result(runs, AttributionMethod.AtPStar, gradDrop ? Aggregation.AbsMean : Aggregation.SignedMean, perPair, new Dictionary<string, string>
        {
            ["qk_fix"] = qkFix ? "true" : "false",
            ["graddrop"] = gradDrop ? "true" : "false",
            ["graddrop_divisor"] = "L-1 for edges into heads and MLPs, L for edges into logits",
        });
    }

    /// <summary>Hook points whose gradients are the inputs of the graph's children.</summary>
    internal static HookFilter InputHooks(ModelConfig c)
    {
        var names = new HashSet<string> { HookNames.ResidPost(c.NLayers - 1) };
        for (int l = 0; l < c.NLayers; l++)
        {
            names.Add(HookNames.QInput(l));
            names.Add(HookNames.KInput(l));
            names.Add(HookNames.VInput(l));
            names.Add(HookNames.MlpIn(l));
        }
        return HookFilter.Where(names.Contains);
    }

    /// <summary>For every pair, S = ΔZ · Gᵀ ([forward nodes × inputs]); each edge's entry goes through <paramref name="map"/>.</summary>
    private static void Accumulate(TaskRuns runs, PairBatch batch, ActivationCache grads, double[][] perPair, int offset,
        Func<int, GraphEdge, double, double> map, bool accumulate = false)
    {
        var c = runs.Model.Config;
        var g = runs.Graph;
        int k = batch.Pairs.Length, t = batch.Positions, d = c.DModel, td = t * d;
        int nf = g.ForwardCount, nb = g.BackwardCount;
        var deltas = g.ForwardNodes.Select(u => batch.NodeDelta(u, c).Data).ToArray();
        var a = new float[nf * td];
        var b = new float[nb * td];
        var s = new float[nf * nb];
        for (int i = 0; i < k; i++)
        {
            for (int u = 0; u < nf; u++) Array.Copy(deltas[u], i * td, a, u * td, td);
            foreach (var input in g.Inputs)
            {
                var (hook, _) = EdgePatching.InputHook(input, c);
                var src = grads[hook].Data;
                bool head = input.Node.Kind == NodeKind.Head;
                int features = head ? c.NHeads * d : d, lo = head ? input.Node.Head * d : 0;
                for (int p = 0; p < t; p++)
                    Array.Copy(src, (i * t + p) * features + lo, b, input.BackwardIndex * td + p * d, d);
            }
            Gemm.Multiply(a, td, false, b, td, true, s, nb, nf, nb, td);
            foreach (var e in g.Edges)
            {
                double v = map(i, e, s[e.Parent.ForwardIndex * nb + e.Child.BackwardIndex]);
                if (accumulate) perPair[offset + i][e.Index] += v;
                else perPair[offset + i][e.Index] = v;
            }
        }
    }

    /// <summary>
    /// ΔA = A' − A for every &lt;q&gt;/&lt;k&gt; edge (keyed by edge index): [pairs, t, t] of the child head's attention
    /// when the edge alone carries its corrupted value, recomputed exactly through ln1, the projection and rotary.
    /// </summary>
    private static Dictionary<int, float[]> AttentionChanges(TaskRuns runs, PairBatch batch)
    {
        var c = runs.Model.Config;
        int k = batch.Pairs.Length, t = batch.Positions, d = c.DModel, dh = c.DHead, h = c.NHeads, hkv = c.NKvHeads;
        bool rotary = c.Rotary != RotaryStyle.None;
        double scale = 1.0 / Math.Sqrt(dh);
        var result = new Dictionary<int, float[]>();
        foreach (var group in runs.Graph.Edges.Where(e => e.Child.Port is Port.Q or Port.K).GroupBy(e => e.Child.Name))
        {
            var edges = group.ToArray();
            var child = edges[0].Child;
            int l = child.Node.Layer, head = child.Node.Head, kvHead = head / c.GroupSize;
            bool isKey = child.Port == Port.K;
            var resid = batch.Clean.Cache[HookNames.ResidPre(l)].Data;
            var q = batch.Clean.Cache[rotary ? HookNames.RotQ(l) : HookNames.Q(l)].Data;
            var key = batch.Clean.Cache[rotary ? HookNames.RotK(l) : HookNames.K(l)].Data;
            var pattern = batch.Clean.Cache[HookNames.Pattern(l)].Data;
            // All parents of this port at once: [edges·pairs, t, d].
            var x = new float[edges.Length * resid.Length];
            for (int e = 0; e < edges.Length; e++)
            {
                var dz = batch.NodeDelta(edges[e].Parent, c).Data;
                TensorPrimitives.Add(resid, dz, x.AsSpan(e * resid.Length, resid.Length));
            }
            var projected = runs.Model.ProjectHeadInput(l, head, isKey, new Tensor(x, edges.Length * k, t, d)).Data;
            var logits = new double[t];
            for (int e = 0; e < edges.Length; e++)
            {
                var dA = new float[k * t * t];
                for (int i = 0; i < k; i++)
                for (int row = 0; row < t; row++)
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j <= row; j++)
                    {
                        double dot = 0;
                        for (int z = 0; z < dh; z++)
                        {
                            float qv = isKey ? q[((i * t + row) * h + head) * dh + z] : projected[((e * k + i) * t + row) * dh + z];
                            float kv = isKey ? projected[((e * k + i) * t + j) * dh + z] : key[((i * t + j) * hkv + kvHead) * dh + z];
                            dot += qv * kv;
                        }
                        logits[j] = dot * scale;
                        max = Math.Max(max, logits[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= row; j++) sum += logits[j] = Math.Exp(logits[j] - max);
                    int pOff = ((i * h + head) * t + row) * t;
                    for (int j = 0; j <= row; j++) dA[(i * t + row) * t + j] = (float)(logits[j] / sum - pattern[pOff + j]);
                }
                result[edges[e].Index] = dA;
            }
        }
        return result;
    }

    private static double PatternDot(ModelConfig c, PairBatch batch, ActivationCache grads, GraphEdge e, float[] dA, int i)
    {
        int t = batch.Positions, h = c.NHeads, head = e.Child.Node.Head;
        var gp = grads[HookNames.Pattern(e.Child.Node.Layer)].Data;
        double s = 0;
        for (int row = 0; row < t; row++)
        for (int j = 0; j <= row; j++)
            s += dA[(i * t + row) * t + j] * (double)gp[((i * h + head) * t + row) * t + j];
        return s;
    }

    private static AttributionResult Result(TaskRuns runs, AttributionMethod method, Aggregation aggregation, double[][] perPair, Dictionary<string, string> parameters)
        => new(method, aggregation, "edge", runs.Graph.Edges.Select(e => e.Name).ToList(), perPair, parameters);
}
