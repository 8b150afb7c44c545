using MechTests.Circuits;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats a <see cref="CompletenessResult"/> as its worst incompleteness and the set K that gave it.</summary>
internal sealed class CompletenessResultFormatter : TypedFormatter<CompletenessResult>
{
    public static string Describe(CompletenessResult c)
        => $"worst normalized incompleteness {Num.G(c.WorstNormalized)} ({Num.G(c.WorstIncompleteness)} in metric units) for K = {CircuitClaimText.Set(c.Worst.Removed)} "
           + $"({c.Worst.Source}), {Num.I(c.SetsTried)} sets tried";

    protected override IReadOnlyList<string> Lines(CompletenessResult c, bool lineBreaks) => [Describe(c)];
}
