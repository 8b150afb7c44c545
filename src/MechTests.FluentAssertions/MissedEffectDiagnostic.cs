using MechTests.Attribution;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.FluentAssertions;

/// <summary>
/// Runs the false-negative diagnostic of docs/methods.md §5 on an attribution: rank by |score|, set the top
/// <see cref="MissedEffectOptions.VerifiedTop"/> aside as verified, patch a uniform sample of the rest exactly
/// (zero-failure bound), and screen the rest with the subsampling estimate ĉ_SS, patching its suspects exactly.
/// </summary>
/// <example><code>
/// var report = MissedEffectDiagnostic.Run(runs, NodeAttribution.AtPStar(runs, nodes), effectThreshold: 0.1);
/// Console.WriteLine($"≤ {report.Bound:P1} of {report.PoolSize} unverified nodes have |effect| ≥ 0.1 (95%)");
/// </code></example>
public static class MissedEffectDiagnostic
{
    /// <summary>Measures the diagnostic; see <see cref="MissedEffectReport"/> for what each number means.</summary>
    /// <param name="runs">Clean and corrupted runs of the task the attribution was computed on.</param>
    /// <param name="attribution">The attribution whose ranking is checked.</param>
    /// <param name="effectThreshold">θ in metric units (positive).</param>
    /// <param name="options">Sample sizes, confidence and seed; defaults when null.</param>
    /// <returns>The report: pool, sampled and suspected members with their exact effects, the bound and the misses.</returns>
    /// <example><code>
    /// var report = MissedEffectDiagnostic.Run(runs, EdgeAttribution.AtPStar(runs), effectThreshold: 0.5,
    ///     new MissedEffectOptions { VerifiedTop = 20, Samples = 59 });
    /// report.Misses.Should().BeEmpty();
    /// </code></example>
    public static MissedEffectReport Run(TaskRuns runs, AttributionResult attribution, double effectThreshold, MissedEffectOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(attribution);
        options ??= new MissedEffectOptions();
        if (!(effectThreshold > 0)) throw new ArgumentOutOfRangeException(nameof(effectThreshold), $"θ must be positive (got {effectThreshold}).");
        if (options.VerifiedTop < 0) throw new ArgumentOutOfRangeException(nameof(options), $"VerifiedTop must be ≥ 0 (got {options.VerifiedTop}).");
        if (options.Samples < 1) throw new ArgumentOutOfRangeException(nameof(options), $"Samples must be ≥ 1 (got {options.Samples}).");
        if (!(options.Confidence > 0 && options.Confidence < 1)) throw new ArgumentOutOfRangeException(nameof(options), $"Confidence must be in (0, 1) (got {options.Confidence}).");

        var components = ScoredComponents.Of(runs, attribution);
        var names = components.Names;
        var scores = attribution.Scores;
        // The same ranking AgreementReport uses: |score| descending, ties by name.
        var order = Enumerable.Range(0, names.Count)
            .OrderByDescending(i => Math.Abs(scores[names[i]])).ThenBy(i => names[i], StringComparer.Ordinal).ToList();
        var rank = new int[names.Count];
        for (int r = 0; r < order.Count; r++) rank[order[r]] = r + 1;
        int verified = Math.Min(options.VerifiedTop, names.Count);
        var pool = order.Skip(verified).Order().ToList(); // graph order, so the seeded sample does not depend on scores

        var rng = new Random(options.Seed);
        var shuffled = pool.ToArray();
        int k = Math.Min(options.Samples, shuffled.Length);
        for (int i = 0; i < k; i++)
        {
            int j = i + rng.Next(shuffled.Length - i);
            (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
        }
        var sample = shuffled.Take(k).Order().ToList();

        IReadOnlyDictionary<string, double>? estimates = null;
        var suspects = new List<int>();
        bool screen = options.Subsets >= 2 && options.Suspects > 0 && pool.Count >= 2 && k < pool.Count;
        if (screen)
        {
            estimates = components.Subsample(runs, pool, options.Subsets, options.InclusionProbability, options.Seed);
            suspects = pool.OrderByDescending(i => Math.Abs(estimates[names[i]])).ThenBy(i => names[i], StringComparer.Ordinal)
                .Take(options.Suspects).Order().ToList();
        }

        var toPatch = sample.Union(suspects).Order().ToList();
        var effects = toPatch.Count == 0 ? new Dictionary<string, double>() : components.Patch(runs, toPatch).Effects;
        MissedComponent Entry(int i, string foundBy) => new(names[i], rank[i], scores[names[i]], effects[names[i]], foundBy,
            estimates != null && estimates.TryGetValue(names[i], out double e) ? e : double.NaN);
        return new MissedEffectReport(attribution.MethodName, attribution.Level, MetricNames.Of(runs.Task.Metric), effectThreshold, options.Confidence,
            names.Count, verified, pool.Count,
            sample.Select(i => Entry(i, "uniform sample")).ToList(),
            suspects.Select(i => Entry(i, "subsampling suspect")).ToList(),
            screen ? options.Subsets : 0, options.InclusionProbability);
    }
}
