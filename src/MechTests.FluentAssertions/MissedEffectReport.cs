namespace MechTests.FluentAssertions;

/// <summary>
/// The false-negative diagnostic of an attribution (docs/methods.md §5): after the top-ranked components are verified,
/// how much of the rest (the pool) could have a missed effect |c| ≥ θ. A uniform sample of k pool members is
/// patched exactly; if none has |c| ≥ θ, then with confidence 1 − α the fraction of the pool with |c| ≥ θ is at
/// most 1 − α^(1/k) (<see cref="Attribution.Subsampling.ZeroFailureBound"/>). A subsampling screen (ĉ_SS over
/// random subsets) names suspects, which are patched exactly too.
/// </summary>
/// <param name="Method">The attribution method's name (e.g. <c>atp-star</c>).</param>
/// <param name="Level">The attribution's level (<c>edge</c>, <c>node</c>, <c>qkv</c>, …).</param>
/// <param name="Metric">The task metric of the effects.</param>
/// <param name="EffectThreshold">θ, in metric units: |effect| ≥ θ is an effect that must not be missed.</param>
/// <param name="Confidence">1 − α.</param>
/// <param name="Components">How many components the attribution scored.</param>
/// <param name="Verified">How many top-ranked components were left out of the pool as verified.</param>
/// <param name="PoolSize">Components in the pool.</param>
/// <param name="Sampled">The uniformly sampled pool members, patched exactly (all of the pool when <see cref="Exhaustive"/>).</param>
/// <param name="Suspects">The subsampling suspects, patched exactly (empty when the screen was off).</param>
/// <param name="Subsets">Random subsets the screen patched (0 when off).</param>
/// <param name="InclusionProbability">p of the screen's subsets.</param>
/// <example><code>
/// var report = star.Should().HaveMissedEffectBoundBelow(runs, fraction: 0.1, effectThreshold: 0.5).Which;
/// Console.WriteLine($"{report.Sampled.Count} of {report.PoolSize} unverified components patched; bound {report.Bound:P1}");
/// </code></example>
public sealed record MissedEffectReport(string Method, string Level, string Metric, double EffectThreshold, double Confidence, int Components, int Verified,
    int PoolSize, IReadOnlyList<MissedComponent> Sampled, IReadOnlyList<MissedComponent> Suspects, int Subsets, double InclusionProbability)
{
    /// <summary>Whether every pool member was patched (the pool was no larger than the sample).</summary>
    /// <example><code>
    /// if (report.Exhaustive) Console.WriteLine("every unverified component was patched");
    /// </code></example>
    public bool Exhaustive => Sampled.Count == PoolSize;

    /// <summary>Components (sampled or suspected) whose exact |effect| ≥ θ: effects the attribution ranked below the verified top.</summary>
    /// <example><code>
    /// report.Misses.Select(m => m.Name).Should().BeEmpty();
    /// </code></example>
    public IReadOnlyList<MissedComponent> Misses => Sampled.Concat(Suspects).Where(m => Math.Abs(m.Effect) >= EffectThreshold)
        .DistinctBy(m => m.Name).OrderByDescending(m => Math.Abs(m.Effect)).ThenBy(m => m.Name, StringComparer.Ordinal).ToList();

    /// <summary>
    /// The bound on the fraction of the pool with |effect| ≥ θ: the exact fraction when <see cref="Exhaustive"/>
    /// (0 for an empty pool), otherwise the zero-failure bound 1 − α^(1/k) when no sampled member failed, and NaN
    /// when one did (the bound does not apply: a miss was found).
    /// </summary>
    /// <example><code>
    /// report.Bound.Should().BeLessThan(0.1);   // ≤ 10% of the pool can hide an effect ≥ θ (95%)
    /// </code></example>
    public double Bound
    {
        get
        {
            int failed = Sampled.Count(m => Math.Abs(m.Effect) >= EffectThreshold);
            if (Exhaustive) return PoolSize == 0 ? 0 : failed / (double)PoolSize;
            return failed > 0 ? double.NaN : Attribution.Subsampling.ZeroFailureBound(Sampled.Count, 1 - Confidence);
        }
    }

    /// <summary>The sampled member with the largest |effect|, or null when nothing was sampled.</summary>
    /// <example><code>
    /// Console.WriteLine($"largest sampled effect {report.LargestSampled?.Effect} ({report.LargestSampled?.Name})");
    /// </code></example>
    public MissedComponent? LargestSampled => Sampled.OrderByDescending(m => Math.Abs(m.Effect)).ThenBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault();

    /// <summary>What the numbers depend on.</summary>
    /// <example><code>
    /// Console.WriteLine(report.Conventions);   // ablation=corrupted-patch; …; bound=zero-failure 1-α^(1/k), α=0.05
    /// </code></example>
    public string Conventions => $"ablation=corrupted-patch; effect=metric(patched)-metric(clean), signed mean over pairs, compared as |effect| ≥ θ; metric={Metric}; "
                                 + $"pool=components outside the attribution's top {Verified} by |score|; bound=zero-failure 1-α^(1/k), α={Num.G(1 - Confidence)}";

    /// <summary>
    /// The uniform sample size k that makes the zero-failure bound at most <paramref name="fraction"/> at
    /// <paramref name="confidence"/>: the smallest k with 1 − α^(1/k) ≤ fraction, i.e. k ≥ ln α / ln(1 − fraction).
    /// </summary>
    /// <param name="fraction">The bound wanted, in (0, 1).</param>
    /// <param name="confidence">1 − α, in (0, 1).</param>
    /// <example><code>
    /// int k = MissedEffectReport.SamplesFor(0.05, 0.95);   // 59
    /// </code></example>
    public static int SamplesFor(double fraction, double confidence)
    {
        if (!(fraction > 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), $"The fraction must be in (0, 1) (got {fraction}).");
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), $"The confidence must be in (0, 1) (got {confidence}).");
        int k = (int)Math.Ceiling(Math.Log(1 - confidence) / Math.Log(1 - fraction));
        // Guard the rounding at the boundary: the bound, not the closed form, decides.
        while (k > 1 && Attribution.Subsampling.ZeroFailureBound(k - 1, 1 - confidence) <= fraction) k--;
        while (Attribution.Subsampling.ZeroFailureBound(k, 1 - confidence) > fraction) k++;
        return k;
    }
}
