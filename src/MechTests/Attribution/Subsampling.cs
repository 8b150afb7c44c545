using MechTests.Hooks;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.Attribution;

/// <summary>The result of the subsampling diagnostic (docs/methods.md §5).</summary>
/// <param name="Estimates">ĉ_SS(n) = mean[ΔL | n∈S] − mean[ΔL | n∉S] for every node of the pool.</param>
/// <param name="Samples">Number of random subsets patched (one forward pass each).</param>
/// <param name="InclusionProbability">p, the chance each node is in a subset.</param>
public sealed record SubsamplingResult(IReadOnlyDictionary<string, double> Estimates, int Samples, double InclusionProbability);

/// <summary>
/// Diagnostics against false negatives: after verifying the top-ranked nodes with real patching, patch random subsets
/// of the remaining pool to estimate each node's effect, and bound how much of the pool could have been missed.
/// </summary>
/// <example><code>
/// var ss = Subsampling.Estimate(runs, pool, samples: 200, p: 0.1, seed: 1);
/// double bound = Subsampling.ZeroFailureBound(k: 50, alpha: 0.05);   // ≤ 5.8% of the pool has |c| ≥ θ
/// </code></example>
public static class Subsampling
{
    /// <summary>Patches <paramref name="samples"/> random subsets of <paramref name="pool"/> (each node with probability p).</summary>
    public static SubsamplingResult Estimate(TaskRuns runs, IReadOnlyList<ActivationNode> pool, int samples, double p, int seed)
    {
        if (samples < 2) throw new ArgumentOutOfRangeException(nameof(samples), "At least 2 samples are needed.");
        if (p <= 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), "The inclusion probability must be in (0, 1).");
        var rng = new Random(seed);
        var inSum = new double[pool.Count];
        var inCount = new int[pool.Count];
        var outSum = new double[pool.Count];
        var outCount = new int[pool.Count];
        for (int s = 0; s < samples; s++)
        {
            var chosen = new bool[pool.Count];
            for (int i = 0; i < pool.Count; i++) chosen[i] = rng.NextDouble() < p;
            double delta = PatchSet(runs, pool.Where((_, i) => chosen[i]).ToList()) - runs.CleanMetric;
            for (int i = 0; i < pool.Count; i++)
            {
                if (chosen[i]) { inSum[i] += delta; inCount[i]++; }
                else { outSum[i] += delta; outCount[i]++; }
            }
        }
        var est = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < pool.Count; i++)
            est[pool[i].Name] = (inCount[i] > 0 ? inSum[i] / inCount[i] : 0) - (outCount[i] > 0 ? outSum[i] / outCount[i] : 0);
        return new SubsamplingResult(est, samples, p);
    }

    /// <summary>
    /// Zero-failure bound: if k uniformly sampled nodes all have |c| &lt; θ, then with confidence 1 − α the fraction of
    /// the pool with |c| ≥ θ is at most 1 − α^(1/k).
    /// </summary>
    public static double ZeroFailureBound(int k, double alpha)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k));
        if (alpha <= 0 || alpha >= 1) throw new ArgumentOutOfRangeException(nameof(alpha));
        return 1 - Math.Pow(alpha, 1.0 / k);
    }

    /// <summary>Mean metric with every node in <paramref name="nodes"/> patched to its corrupted value at once.</summary>
    public static double PatchSet(TaskRuns runs, IReadOnlyList<ActivationNode> nodes)
    {
        var values = new List<double>();
        foreach (var batch in runs.Batches)
        {
            var interventions = nodes.GroupBy(n => n.Hook).Select(g =>
            {
                var list = g.ToList();
                var corr = batch.Corrupted.Cache[g.Key].Data;
                return new Intervention(g.Key, (act, _) =>
                {
                    foreach (var n in list) NodePatching.CopySlice(n, corr, act.Data, 0, batch.Positions);
                });
            }).ToList();
            using var pass = runs.Model.Run(batch.CleanTokens, new RunOptions { Interventions = interventions, LastPositionLogitsOnly = true });
            values.AddRange(TaskMetric.Values(runs.Task.Metric, pass.Logits, batch.Pairs, batch.CleanLogProbs));
        }
        return values.Average();
    }
}
