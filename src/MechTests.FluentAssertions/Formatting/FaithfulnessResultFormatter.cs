using MechTests.Circuits;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats a <see cref="FaithfulnessResult"/> as f(C), the three metrics it comes from and its conventions.</summary>
internal sealed class FaithfulnessResultFormatter : TypedFormatter<FaithfulnessResult>
{
    public static string Describe(FaithfulnessResult f)
        => $"f(C) = {Num.G(f.Value)} (L(C) = {Num.G(f.CircuitMetric)}, L(clean) = {Num.G(f.CleanMetric)}, L(corrupted) = {Num.G(f.CorruptedMetric)}; {Num.I(f.Edges)} edges; {f.Conventions})";

    protected override IReadOnlyList<string> Lines(FaithfulnessResult f, bool lineBreaks) => [Describe(f)];
}
