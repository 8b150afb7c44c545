using MechTests.Circuits;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats a <see cref="MinimalityResult"/> as how many components are necessary and which are not.</summary>
internal sealed class MinimalityResultFormatter : TypedFormatter<MinimalityResult>
{
    public static string Describe(MinimalityResult m)
        => m.IsMinimal
            ? $"minimal: all {Num.I(m.Drops.Count)} components necessary (δ = {Num.G(m.Delta)}, f(C) = {Num.G(m.Faithfulness)})"
            : $"not minimal: {Num.I(m.NotNecessary.Count)} of {Num.I(m.Drops.Count)} components not necessary (δ = {Num.G(m.Delta)}, f(C) = {Num.G(m.Faithfulness)}): "
              + string.Join(", ", m.NotNecessary.Take(CircuitFormatter.MaxItems).Select(d => $"{d.Component} (drop {Num.G(d.Drop)})"));

    protected override IReadOnlyList<string> Lines(MinimalityResult m, bool lineBreaks) => [Describe(m)];
}
