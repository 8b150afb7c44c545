using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MechTests.Graphs;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tasks;
using MechTests.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MechTests.Patching;

/// <summary>
/// Edge-level activation patching by residual linearity: patching u → v adds z_u(corrupted) − z_u(this run) to v's
/// input and changes nothing else. Single edges reuse everything upstream of the child; a set of edges is patched in
/// one pass (the circuit run of docs/methods.md §8).
/// </summary>
/// <example><code>
/// var each = EdgePatching.RunEach(runs);                               // one effect per edge
/// var none = EdgePatching.MetricWithPatchedEdges(runs, _ => false);  // = clean metric
/// var all = EdgePatching.MetricWithPatchedEdges(runs, _ => true);    // = corrupted metric
/// </code></example>
public static class EdgePatching
{
    /// <summary>The hook point where a child input is read, and the layer a pass must resume from to reach it.</summary>
    public static (string Hook, int Layer) InputHook(GraphInput input, ModelConfig c) => input.Node.Kind switch
    {
        NodeKind.Head => (input.Port switch
        {
            Port.Q => HookNames.QInput(input.Node.Layer),
            Port.K => HookNames.KInput(input.Node.Layer),
            _ => HookNames.VInput(input.Node.Layer),
        }, input.Node.Layer),
        NodeKind.Mlp => (HookNames.MlpIn(input.Node.Layer), input.Node.Layer),
        NodeKind.Logits => (HookNames.ResidPost(c.NLayers - 1), c.NLayers - 1),
        _ => throw new ArgumentException($"'{input.Name}' is not an input."),
    };

    /// <summary>Patches every edge (or the given edges) separately; effect = metric(patched) − metric(clean).</summary>
    public static PatchingResult RunEach(TaskRuns runs, IReadOnlyList<GraphEdge>? edges = null, IProgress<int>? progress = null)
    {
        edges ??= runs.Graph.Edges;
        var c = runs.Model.Config;
        var perPair = new double[runs.PairCount][];
        for (int i = 0; i < perPair.Length; i++) perPair[i] = new double[edges.Count];
        int pairOffset = 0;
        foreach (var batch in runs.Batches)
        {
            var deltas = new Dictionary<string, float[]>(StringComparer.Ordinal);
            float[] Delta(GraphNode u)
            {
                if (!deltas.TryGetValue(u.Name, out var dlt)) deltas[u.Name] = dlt = batch.NodeDelta(u, c).Data;
                return dlt;
            }
            // Every edge into a layer's inputs resumes from that layer, whichever child and port it reaches.
            foreach (var group in edges.Select((e, i) => (e, i)).GroupBy(x => InputHook(x.e.Child, c).Layer))
            {
                var list = group.ToList();
                var values = Patcher.Run(runs.Model, runs.Task.Metric, batch, x => InputHook(x.e.Child, c).Hook, group.Key, list, (x, act, offset, length) =>
                {
                    bool head = x.e.Child.Node.Kind == NodeKind.Head;
                    int features = head ? c.NHeads * c.DModel : c.DModel;
                    int lo = head ? x.e.Child.Node.Head * c.DModel : 0;
                    var dlt = Delta(x.e.Parent);
                    int rows = length / features;
                    for (int row = 0; row < rows; row++)
                    {
                        var dst = act.AsSpan(offset + row * features + lo, c.DModel);
                        TensorPrimitives.Add(dst, dlt.AsSpan(row * c.DModel, c.DModel), dst);
                    }
                }, progress: progress);
                for (int j = 0; j < list.Count; j++)
                for (int i = 0; i < batch.Pairs.Length; i++)
                    perPair[pairOffset + i][list[j].i] = values[j][i] - batch.CleanMetric[i];
            }
            pairOffset += batch.Pairs.Length;
        }
        return new PatchingResult("edge", runs.CleanMetric, runs.CorruptedMetric, edges.Select(e => e.Name).ToList(), perPair, MetricNames.Of(runs.Task.Metric));
    }

    /// <summary>
    /// Per-pair metric of one pass per batch in which every edge with <paramref name="patched"/> true carries its
    /// corrupted value: in_v += Σ_{patched u→v} (z_u(corrupted) − z_u(this run)), z_u(this run) taken in the same pass.
    /// </summary>
    public static double[] MetricWithPatchedEdges(TaskRuns runs, Func<GraphEdge, bool> patched)
    {
        var c = runs.Model.Config;
        var graph = runs.Graph;
        // Parents per child input (by BackwardIndex) in edge order, and the hook groups in input order, built once per
        // call: they are the same for every batch, and names and record hashes per edge were a visible part of a pass.
        var byChild = new List<GraphNode>?[graph.BackwardCount];
        foreach (var e in graph.Edges)
            if (patched(e)) (byChild[e.Child.BackwardIndex] ??= new List<GraphNode>()).Add(e.Parent);
        var groups = new List<(string Hook, List<(GraphInput Input, GraphNode[] Parents)> Inputs)>();
        var groupOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var cacheNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            if (byChild[input.BackwardIndex] is not { } parents) continue;
            string hook = InputHook(input, c).Hook;
            if (!groupOf.TryGetValue(hook, out int g))
            {
                groupOf[hook] = g = groups.Count;
                groups.Add((hook, new()));
            }
            groups[g].Inputs.Add((input, parents.ToArray()));
            foreach (var u in parents) cacheNames.Add(OutputHook(u));
        }
        var cache = HookFilter.Where(cacheNames.Contains);
        // Blocks before the first patched input compute exactly what an earlier pass with the same set of cached
        // head outputs below that block computed (caching a layer's hook_result switches it to per-head products,
        // the only way these options change a block's numbers in the managed engine): such a pass is recorded once
        // per batch and later passes resume from its resid_pre, reading the parents below from its copies. The
        // completeness search's full-model runs (a few edges knocked out, most of them in later layers) skip the
        // blocks before the earliest one.
        int start = groups.Count == 0 ? 0 : groups.Min(x => InputHook(x.Inputs[0].Input, c).Layer);
        string? prefixKey = null;
        if (start > 0 && runs.Model is Transformer)
            prefixKey = start + ":" + string.Concat(Enumerable.Range(0, start).Select(l => cacheNames.Contains(HookNames.Result(l)) ? '1' : '0'));
        // What a recording keeps: every embedding and MLP output below (caching them changes no number, and later
        // calls with the same key may read other parents there) and the cached head outputs of the key.
        var below = prefixKey == null ? [] : cacheNames.Where(h => IsBelow(h, start))
            .Concat(Enumerable.Range(0, start).Select(HookNames.MlpOut)).Append(HookNames.Embed).Distinct().ToArray();
        var values = new List<double>();
        foreach (var batch in runs.Batches)
        {
            Prefix? prefix = null;
            if (prefixKey != null) Prefixes.GetOrCreateValue(batch).TryGetValue(prefixKey, out prefix);
            var interventions = new List<Intervention>();
            var sources = Array.Empty<float[]>();
            // z_u(corrupted) − z_u(this pass) per parent, computed once per pass when first needed: a parent is upstream
            // of every child that reads it, so its value in this pass is final by then. Patching thousands of edges
            // (minimality, completeness) then costs one subtraction per parent instead of two slices per edge.
            var deltas = new float[graph.Nodes.Count][];
            float[] Delta(GraphNode u, ActivationCache current)
                => deltas[u.ForwardIndex] ??= ParentDelta(batch.Corrupted.Cache[OutputHook(u)],
                    prefix != null && prefix.Outputs.TryGetValue(OutputHook(u), out var recorded) ? recorded : current[OutputHook(u)], u, c);
            // Heads of one layer share a hook point: one intervention per hook adds every child's sum.
            foreach (var (hook, inputs) in groups)
            {
                interventions.Add(new Intervention(hook, (act, ctx) =>
                {
                    foreach (var (input, parents) in inputs)
                    {
                        bool head = input.Node.Kind == NodeKind.Head;
                        int features = head ? c.NHeads * c.DModel : c.DModel;
                        int lo = head ? input.Node.Head * c.DModel : 0;
                        int rows = act.Length / features;
                        if (sources.Length < parents.Length) sources = new float[parents.Length][];
                        for (int j = 0; j < parents.Length; j++) sources[j] = Delta(parents[j], ctx.Current);
                        AddInOrder(act.Data, rows, features, lo, c.DModel, sources, parents.Length);
                    }
                }));
            }
            var recorded = prefixKey == null ? null : Prefixes.GetOrCreateValue(batch);
            bool record = recorded != null && prefix == null && recorded.Count < MaxPrefixesPerBatch
                && recorded.Values.Sum(p => p.Floats) + PrefixFloats(batch.Pairs.Length * batch.Positions, below, start, c) <= MaxPrefixFloatsPerBatch;
            using var pass = runs.Model.Run(batch.CleanTokens, new RunOptions
            {
                Cache = record ? HookFilter.Where(h => cacheNames.Contains(h) || below.Contains(h) || h == HookNames.ResidPre(start)) : cache,
                Interventions = interventions,
                LastPositionLogitsOnly = true,
                ResumeFrom = prefix == null ? null : new ResumePoint(start, new Tensor(prefix.ResidPre, batch.Pairs.Length, batch.Positions, c.DModel)),
            });
            if (record)
            {
                // Copies: the pass's cached buffers go back to the engine's pool when it is disposed.
                var outputs = below.ToDictionary(h => h, h => pass.Cache[h].Clone(), StringComparer.Ordinal);
                recorded!.TryAdd(prefixKey!, new Prefix((float[])pass.Cache[HookNames.ResidPre(start)].Data.Clone(), outputs));
            }
            values.AddRange(TaskMetric.Values(runs.Task.Metric, pass.Logits, batch.Pairs, batch.CleanLogProbs));
        }
        return values.ToArray();
    }

    /// <summary>
    /// dst_row += deltas[0]_row, then += deltas[1]_row, … for each row's <paramref name="d"/> floats at
    /// <paramref name="lo"/>: the same float additions in the same order per element as one
    /// <c>TensorPrimitives.Add</c> per parent (additions are element-wise, so only their order per element matters),
    /// but each destination vector is loaded and stored once instead of once per parent. Patching the ~2,000 edges
    /// outside a circuit spent a fifth of a pass re-reading and re-writing the destination.
    /// </summary>
    private static void AddInOrder(float[] act, int rows, int features, int lo, int d, float[][] deltas, int count)
    {
        if (count == 0) return;
        ref float actRef = ref MemoryMarshal.GetArrayDataReference(act);
        for (int row = 0; row < rows; row++)
        {
            int dst = row * features + lo, src = row * d;
            if ((uint)(dst + d) > (uint)act.Length) throw new IndexOutOfRangeException();
            int i = 0;
            // Four vectors of the row stay in registers while the parents stream past (d_model 64 = 4 × 16 floats).
            if (Vector512.IsHardwareAccelerated)
            {
                for (; i <= d - 64; i += 64)
                {
                    ref float at = ref Unsafe.Add(ref actRef, dst + i);
                    var a0 = Vector512.LoadUnsafe(ref at, 0);
                    var a1 = Vector512.LoadUnsafe(ref at, 16);
                    var a2 = Vector512.LoadUnsafe(ref at, 32);
                    var a3 = Vector512.LoadUnsafe(ref at, 48);
                    for (int j = 0; j < count; j++)
                    {
                        var part = deltas[j].AsSpan(src + i, 64);
                        ref float p = ref MemoryMarshal.GetReference(part);
                        a0 += Vector512.LoadUnsafe(ref p, 0);
                        a1 += Vector512.LoadUnsafe(ref p, 16);
                        a2 += Vector512.LoadUnsafe(ref p, 32);
                        a3 += Vector512.LoadUnsafe(ref p, 48);
                    }
                    a0.StoreUnsafe(ref at, 0);
                    a1.StoreUnsafe(ref at, 16);
                    a2.StoreUnsafe(ref at, 32);
                    a3.StoreUnsafe(ref at, 48);
                }
            }
            if (Vector.IsHardwareAccelerated)
            {
                int w = Vector<float>.Count;
                for (; i <= d - w; i += w)
                {
                    var acc = Vector.LoadUnsafe(ref actRef, (nuint)(dst + i));
                    for (int j = 0; j < count; j++)
                        acc += new Vector<float>(deltas[j], src + i);
                    acc.StoreUnsafe(ref actRef, (nuint)(dst + i));
                }
            }
            for (; i < d; i++)
            {
                float acc = act[dst + i];
                for (int j = 0; j < count; j++) acc += deltas[j][src + i];
                act[dst + i] = acc;
            }
        }
    }

    /// <summary>resid_pre of the first patched block and the parent outputs below it, from a pass that computed them.</summary>
    private sealed record Prefix(float[] ResidPre, Dictionary<string, Tensor> Outputs)
    {
        public long Floats { get; } = ResidPre.LongLength + Outputs.Values.Sum(t => (long)t.Length);
    }

    /// <summary>Recordings kept per batch: a search visits few keys.</summary>
    private const int MaxPrefixesPerBatch = 32;

    /// <summary>
    /// Floats the recordings of one batch may hold (64 MB): a GPT-2-small-sized batch's recording is tens of megabytes
    /// (every head output below the block), so 32 of them would be gigabytes; past the budget, passes run from block 0.
    /// </summary>
    private const long MaxPrefixFloatsPerBatch = 1L << 24;

    /// <summary>What a recording of <paramref name="below"/> and one resid_pre holds, for <paramref name="rows"/> rows.</summary>
    private static long PrefixFloats(int rows, string[] below, int start, ModelConfig c)
    {
        int headOutputs = Enumerable.Range(0, start).Count(l => below.Contains(HookNames.Result(l)));
        return (long)rows * c.DModel * (1 + below.Length - headOutputs + (long)headOutputs * c.NHeads);
    }

    /// <summary>Recorded prefixes per batch, keyed by first patched block and the layers below it whose heads are cached.</summary>
    private static readonly ConditionalWeakTable<PairBatch, ConcurrentDictionary<string, Prefix>> Prefixes = new();

    /// <summary>Whether an output hook (embeddings, hook_result, hook_mlp_out) is written before block <paramref name="layer"/>.</summary>
    private static bool IsBelow(string hook, int layer)
    {
        if (hook == HookNames.Embed) return true;
        for (int l = 0; l < layer; l++)
            if (hook == HookNames.Result(l) || hook == HookNames.MlpOut(l)) return true;
        return false;
    }

    /// <summary>z_u(corrupted) − z_u(current), [rows, d_model], read in place from the caches (heads strided out of <c>result</c>).</summary>
    private static float[] ParentDelta(Tensor corrupted, Tensor current, GraphNode u, ModelConfig c)
    {
        var corr = corrupted.Data;
        var now = current.Data;
        int d = c.DModel;
        if (u.Kind != NodeKind.Head)
        {
            var delta = new float[corr.Length];
            TensorPrimitives.Subtract(corr, now, delta);
            return delta;
        }
        int rows = corr.Length / (c.NHeads * d);
        var z = new float[rows * d];
        for (int i = 0; i < rows; i++)
        {
            int at = (i * c.NHeads + u.Head) * d;
            TensorPrimitives.Subtract(corr.AsSpan(at, d), now.AsSpan(at, d), z.AsSpan(i * d, d));
        }
        return z;
    }

    private static string OutputHook(GraphNode u) => u.Kind switch
    {
        NodeKind.Input => HookNames.Embed,
        NodeKind.Head => HookNames.Result(u.Layer),
        _ => HookNames.MlpOut(u.Layer),
    };
}
