using MechTests.Hooks;

namespace MechTests.Patching;

/// <summary>
/// Activation patching of nodes (ground truth): each node's activation, at all positions or at its one position,
/// replaced by its corrupted-run value in an otherwise clean run.
/// </summary>
/// <example><code>
/// var runs = TaskRuns.Create(engine, task);
/// var result = NodePatching.Run(runs, NodeSets.Build(engine.Config, NodeGranularity.Component));
/// double effectOfHead = result.Effects["a3.h2"];
/// </code></example>
public static class NodePatching
{
    /// <summary>Patches every node in <paramref name="nodes"/> separately.</summary>
    public static PatchingResult Run(TaskRuns runs, IReadOnlyList<ActivationNode> nodes, IProgress<int>? progress = null)
    {
        var perPair = new double[runs.PairCount][];
        for (int i = 0; i < perPair.Length; i++) perPair[i] = new double[nodes.Count];
        int pairOffset = 0;
        foreach (var batch in runs.Batches)
        {
            // Nodes past the last block (e.g. the final norm) resume at the last block; a layer's nodes share passes.
            foreach (var group in nodes.Select((n, i) => (n, i)).GroupBy(x => Math.Min(x.n.Layer, runs.Model.Config.NLayers - 1)))
            {
                var list = group.ToList();
                var values = Patcher.Run(runs.Model, runs.Task.Metric, batch, x => x.n.Hook, group.Key, list, (x, act, offset, length) =>
                    CopySlice(x.n, batch.Corrupted.Cache[x.n.Hook].Data, act, offset, batch.Positions), progress: progress);
                for (int j = 0; j < list.Count; j++)
                for (int i = 0; i < batch.Pairs.Length; i++)
                    perPair[pairOffset + i][list[j].i] = values[j][i] - batch.CleanMetric[i];
            }
            pairOffset += batch.Pairs.Length;
        }
        string level = nodes.Count > 0 && nodes[0].Position >= 0 ? "node@position" : "node";
        return new PatchingResult(level, runs.CleanMetric, runs.CorruptedMetric, nodes.Select(n => n.Name).ToList(), perPair, Tasks.MetricNames.Of(runs.Task.Metric));
    }

    /// <summary>Copies a node's slice of <paramref name="source"/> (one batch) into a replica at <paramref name="offset"/>.</summary>
    internal static void CopySlice(ActivationNode n, float[] source, float[] target, int offset, int positions)
    {
        int f = n.Features, rows = source.Length / f;
        int lo = n.Unit < 0 ? 0 : n.Unit * n.UnitSize;
        int len = n.Unit < 0 ? f : n.UnitSize;
        for (int row = 0; row < rows; row++)
        {
            if (n.Position >= 0 && row % positions != n.Position) continue;
            Array.Copy(source, row * f + lo, target, offset + row * f + lo, len);
        }
    }
}
