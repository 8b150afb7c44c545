namespace MechTests.FluentAssertions;

/// <summary>
/// Settings of the false-negative diagnostic behind <see cref="AttributionAssertions.HaveMissedEffectBoundBelow(Patching.TaskRuns, double, double, MissedEffectOptions, string, object[])"/>
/// (docs/methods.md §5).
/// </summary>
/// <example><code>
/// var options = new MissedEffectOptions { VerifiedTop = 10, Samples = 60, Confidence = 0.95, Seed = 1 };
/// </code></example>
public sealed record MissedEffectOptions
{
    /// <summary>The attribution's top-ranked components (by |score|) a practitioner verifies with real patching; the rest is the pool a miss can hide in.</summary>
    /// <example><code>
    /// var options = new MissedEffectOptions { VerifiedTop = 20 };
    /// </code></example>
    public int VerifiedTop { get; init; } = 10;

    /// <summary>k: pool members drawn uniformly (without replacement) and patched exactly; the whole pool when it is this small.</summary>
    /// <example><code>
    /// var options = new MissedEffectOptions { Samples = 59 };
    /// </code></example>
    public int Samples { get; init; } = 30;

    /// <summary>1 − α of the zero-failure bound.</summary>
    /// <example><code>
    /// var options = new MissedEffectOptions { Confidence = 0.99 };
    /// </code></example>
    public double Confidence { get; init; } = 0.95;

    /// <summary>Random subsets of the pool patched for the subsampling estimate ĉ_SS (one pass each); 0 turns the screen off.</summary>
    /// <example><code>
    /// var options = new MissedEffectOptions { Subsets = 128 };
    /// </code></example>
    public int Subsets { get; init; } = 64;

    /// <summary>p: the chance each pool member is in a random subset.</summary>
    /// <example><code>
    /// var options = new MissedEffectOptions { InclusionProbability = 0.05 };
    /// </code></example>
    public double InclusionProbability { get; init; } = 0.1;

    /// <summary>Pool members with the largest |ĉ_SS| that are then patched exactly.</summary>
    /// <example><code>
    /// var options = new MissedEffectOptions { Suspects = 10 };
    /// </code></example>
    public int Suspects { get; init; } = 5;

    /// <summary>Seed of the uniform sample and the subsets.</summary>
    /// <example><code>
    /// var options = new MissedEffectOptions { Seed = 7 };
    /// </code></example>
    public int Seed { get; init; }
}
