using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tasks;
using MechTests.Tensors;

namespace MechTests.Patching;

/// <summary>
/// Runs many single-site patches of one batch efficiently: replicas of the batch's clean prompts are stacked, each
/// replica carries a different patch, and the pass resumes from the clean residual stream at the patched layer.
/// </summary>
internal static class Patcher
{
    /// <summary>Rows (tokens) per forward pass that keep the matrix products efficient.</summary>
    public const int TargetTokensPerPass = 480;

    /// <summary>
    /// For each patch, the metric per pair of the batch. Every patch resumes from <paramref name="resumeLayer"/> (−1:
    /// from the embeddings) and names its own hook point (<paramref name="hookOf"/>): patches at different hooks of a
    /// layer share passes, so small groups (a child with a few parents, a sample of edges) still fill one. Each
    /// replica is changed only at its own hook, where <paramref name="apply"/> changes the replica's rows
    /// (rows = pairs × positions × features).
    /// </summary>
    public static double[][] Run<T>(IModelBackend model, MetricKind metric, PairBatch batch, Func<T, string> hookOf, int resumeLayer,
        IReadOnlyList<T> patches, Action<T, float[], int, int> apply, IProgress<int>? progress = null)
    {
        int k = batch.Pairs.Length, t = batch.Positions, d = model.Config.DModel;
        int perPass = Math.Max(1, TargetTokensPerPass / (k * t));
        var results = new double[patches.Count][];
        Tensor? resid = resumeLayer >= 0 ? batch.Clean.Cache[HookNames.ResidPre(resumeLayer)] : null;
        for (int start = 0; start < patches.Count; start += perPass)
        {
            int r = Math.Min(perPass, patches.Count - start);
            var tokens = new int[r * k][];
            var pairs = new PromptPair[r * k];
            var logProbs = new double[r * k][];
            for (int j = 0; j < r; j++)
            for (int i = 0; i < k; i++)
            {
                tokens[j * k + i] = batch.Pairs[i].Clean;
                pairs[j * k + i] = batch.Pairs[i];
                logProbs[j * k + i] = batch.CleanLogProbs[i];
            }
            ResumePoint? resume = null;
            if (resid != null)
            {
                var rep = new float[r * resid.Length];
                for (int j = 0; j < r; j++) Array.Copy(resid.Data, 0, rep, j * resid.Length, resid.Length);
                resume = new ResumePoint(resumeLayer, new Tensor(rep, r * k, t, d));
            }
            var options = new RunOptions { ResumeFrom = resume, LastPositionLogitsOnly = true, SplitQkvInput = false };
            int first = start;
            foreach (var siteGroup in Enumerable.Range(start, r).GroupBy(j => hookOf(patches[j]), StringComparer.Ordinal))
            {
                var replicas = siteGroup.ToArray();
                options.Interventions.Add(new Intervention(siteGroup.Key, (act, _) =>
                {
                    int rowsPerReplica = act.Length / r; // k·t·features
                    foreach (int j in replicas) apply(patches[j], act.Data, (j - first) * rowsPerReplica, rowsPerReplica);
                }));
            }
            using var pass = model.Run(tokens, options);
            var values = TaskMetric.Values(metric, pass.Logits, pairs, logProbs);
            for (int j = 0; j < r; j++) results[start + j] = values.AsSpan(j * k, k).ToArray();
            progress?.Report(r);
        }
        return results;
    }
}
