using MechTests.Graphs;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tasks;
using MechTests.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MechTests.Patching;

/// <summary>
/// The clean and corrupted runs of a task, cached once and shared by patching, attribution and circuit evaluation.
/// Pairs are grouped into batches of equal prompt length (positions must line up within a batch). Disposing it
/// disposes every batch's passes, so the engine reuses their buffers; nothing read from the runs may be used after.
/// </summary>
/// <example><code>
/// using var runs = TaskRuns.Create(engine, task);
/// Console.WriteLine($"clean {runs.CleanMetric:F3}, corrupted {runs.CorruptedMetric:F3}");
/// </code></example>
public sealed class TaskRuns : IDisposable
{
    private TaskRuns(IModelBackend model, MechTask task, IReadOnlyList<PairBatch> batches)
    {
        Model = model;
        Task = task;
        Batches = batches;
        Graph = ComputeGraph.For(model.Config);
    }

    /// <summary>The model.</summary>
    public IModelBackend Model { get; }

    /// <summary>The task.</summary>
    public MechTask Task { get; }

    /// <summary>The model's residual-stream graph.</summary>
    public ComputeGraph Graph { get; }

    /// <summary>Batches of equal-length pairs, in order of first appearance.</summary>
    public IReadOnlyList<PairBatch> Batches { get; }

    /// <summary>Disposes the clean and corrupted passes of every batch.</summary>
    public void Dispose()
    {
        foreach (var b in Batches) b.Dispose();
    }

    /// <summary>Number of pairs.</summary>
    public int PairCount => Task.Pairs.Count;

    /// <summary>Mean metric of the clean runs.</summary>
    public double CleanMetric => Batches.SelectMany(b => b.CleanMetric).Average();

    /// <summary>Mean metric of the corrupted runs.</summary>
    public double CorruptedMetric => Batches.SelectMany(b => b.CorruptedMetric).Average();

    /// <summary>Runs the clean (recorded for gradients) and corrupted prompts of every pair.</summary>
    public static TaskRuns Create(IModelBackend model, MechTask task, int maxPairsPerBatch = 64)
    {
        var c = model.Config;
        foreach (var p in task.Pairs)
        {
            foreach (int id in p.Clean.Concat(p.Corrupted).Concat(p.Correct).Concat(p.Wrong))
                if (id < 0 || id >= c.VocabSize)
                    throw new InvalidDataException($"{task.SourcePath ?? task.Name}: pair {p.Index}: token id {id} is outside the model's vocabulary 0..{c.VocabSize - 1}.");
            if (p.Length > c.MaxPositions)
                throw new InvalidDataException($"{task.SourcePath ?? task.Name}: pair {p.Index}: {p.Length} tokens exceed the model's {c.MaxPositions} positions.");
        }
        var batches = new List<PairBatch>();
        foreach (var group in task.Pairs.GroupBy(p => p.Length))
            foreach (var chunk in group.Chunk(maxPairsPerBatch))
                batches.Add(PairBatch.Run(model, task.Metric, chunk));
        return new TaskRuns(model, task, batches);
    }

    /// <summary>Hook points cached from both runs: everything patching and attribution read.</summary>
    internal static HookFilter CachedHooks(ModelConfig c)
    {
        var names = new HashSet<string> { HookNames.Embed, HookNames.ResidPost(c.NLayers - 1) };
        for (int l = 0; l < c.NLayers; l++)
        {
            names.Add(HookNames.ResidPre(l));
            names.Add(HookNames.Result(l));
            names.Add(HookNames.Z(l)); // attribution estimates head outputs in z-space (Hd floats per head, not D)
            names.Add(HookNames.MlpOut(l));
            names.Add(HookNames.MlpPost(l));
            names.Add(HookNames.Q(l));
            names.Add(HookNames.K(l));
            names.Add(HookNames.V(l));
            names.Add(HookNames.Pattern(l));
            if (c.Rotary != RotaryStyle.None)
            {
                names.Add(HookNames.RotQ(l));
                names.Add(HookNames.RotK(l));
            }
            if (!c.ParallelAttnMlp) names.Add(HookNames.ResidMid(l));
        }
        return HookFilter.Where(names.Contains);
    }
}

/// <summary>Clean and corrupted runs of pairs that share a prompt length (row i ↔ <see cref="Pairs"/>[i]).</summary>
public sealed class PairBatch : IDisposable
{
    private PairBatch(PromptPair[] pairs, ForwardPass clean, ForwardPass corrupted, double[] cleanMetric, double[] corruptedMetric, double[][] cleanLogProbs)
    {
        Pairs = pairs;
        Clean = clean;
        Corrupted = corrupted;
        CleanMetric = cleanMetric;
        CorruptedMetric = corruptedMetric;
        CleanLogProbs = cleanLogProbs;
    }

    /// <summary>Disposes the clean and corrupted passes (their logits, caches and record go back to the engine).</summary>
    public void Dispose()
    {
        Clean.Dispose();
        Corrupted.Dispose();
    }

    /// <summary>The pairs (rows).</summary>
    public PromptPair[] Pairs { get; }

    /// <summary>Prompt length.</summary>
    public int Positions => Pairs[0].Length;

    /// <summary>Clean tokens, one row per pair.</summary>
    public int[][] CleanTokens => Pairs.Select(p => p.Clean).ToArray();

    /// <summary>Corrupted tokens.</summary>
    public int[][] CorruptedTokens => Pairs.Select(p => p.Corrupted).ToArray();

    /// <summary>The clean pass (recorded for backward; node hooks cached).</summary>
    public ForwardPass Clean { get; }

    /// <summary>The corrupted pass (node hooks cached).</summary>
    public ForwardPass Corrupted { get; }

    /// <summary>Per-pair clean metric.</summary>
    public double[] CleanMetric { get; }

    /// <summary>Per-pair corrupted metric.</summary>
    public double[] CorruptedMetric { get; }

    /// <summary>Clean next-token log-probabilities at the last position (for KL).</summary>
    public double[][] CleanLogProbs { get; }

    internal static PairBatch Run(IModelBackend model, MetricKind metric, PromptPair[] pairs)
    {
        var hooks = TaskRuns.CachedHooks(model.Config);
        var clean = model.Run(pairs.Select(p => p.Clean).ToArray(), new RunOptions { Cache = hooks, RecordForBackward = true });
        var corrupted = model.Run(pairs.Select(p => p.Corrupted).ToArray(), new RunOptions { Cache = hooks });
        var cleanLp = TaskMetric.LastLogProbs(clean.Logits);
        return new PairBatch(pairs, clean, corrupted,
            TaskMetric.Values(metric, clean.Logits, pairs, cleanLp),
            TaskMetric.Values(metric, corrupted.Logits, pairs, cleanLp),
            cleanLp);
    }

    /// <summary>The output z_u [b,p,d] of a graph node in a cache (input = token embedding; positions cancel in differences).</summary>
    public static Tensor NodeOutput(ActivationCache cache, GraphNode node, ModelConfig c)
    {
        switch (node.Kind)
        {
            case NodeKind.Input: return cache[HookNames.Embed];
            case NodeKind.Mlp: return cache[HookNames.MlpOut(node.Layer)];
            case NodeKind.Head:
            {
                var r = cache[HookNames.Result(node.Layer)];
                int b = r.Shape[0], t = r.Shape[1], d = c.DModel, h = c.NHeads;
                var z = new float[b * t * d];
                for (int i = 0; i < b * t; i++) Array.Copy(r.Data, (i * h + node.Head) * d, z, i * d, d);
                return new Tensor(z, b, t, d);
            }
            default: throw new ArgumentException($"Node '{node.Name}' has no output.");
        }
    }

    /// <summary>z_u(corrupted) − z_u(clean) for a graph node.</summary>
    public Tensor NodeDelta(GraphNode node, ModelConfig c)
    {
        var corr = NodeOutput(Corrupted.Cache, node, c);
        var clean = NodeOutput(Clean.Cache, node, c);
        var d = new float[corr.Length];
        TensorPrimitives.Subtract(corr.Data, clean.Data, d);
        return new Tensor(d, corr.Shape);
    }
}
