namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats a <see cref="MissedEffectReport"/> as its pool, sample, bound and misses.</summary>
internal sealed class MissedEffectReportFormatter : TypedFormatter<MissedEffectReport>
{
    public static string Describe(MissedEffectReport r)
        => $"pool of {Num.I(r.PoolSize)} of {Num.I(r.Components)} components outside the top {Num.I(r.Verified)}, {Num.I(r.Sampled.Count)} sampled{(r.Exhaustive ? " (exhaustive)" : "")}, "
           + $"bound {Num.G(r.Bound)} on |effect| ≥ {Num.G(r.EffectThreshold)} at confidence {Num.G(r.Confidence)}; misses: "
           + (r.Misses.Count == 0 ? "none" : string.Join(", ", r.Misses.Select(m => $"{m.Name} (effect {Num.G(m.Effect)}, rank {Num.I(m.Rank)})")));

    protected override IReadOnlyList<string> Lines(MissedEffectReport r, bool lineBreaks) => [Describe(r)];
}
