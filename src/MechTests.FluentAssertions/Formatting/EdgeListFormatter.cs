using MechTests.Graphs;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats a sequence of <see cref="GraphEdge"/>s as their count and names, one per line when line breaks are asked for.</summary>
internal sealed class EdgeListFormatter : TypedFormatter<IEnumerable<GraphEdge>>
{
    protected override IReadOnlyList<string> Lines(IEnumerable<GraphEdge> edges, bool lineBreaks)
    {
        var names = edges.Select(e => e.Name).ToList();
        string header = $"{Num.I(names.Count)} edge{(names.Count == 1 ? "" : "s")}";
        if (names.Count > CircuitFormatter.MaxItems)
            names = [.. names.Take(CircuitFormatter.MaxItems), $"… and {Num.I(names.Count - CircuitFormatter.MaxItems)} more"];
        return lineBreaks ? [header + ":", .. names] : [$"{header} {{{string.Join(", ", names)}}}"];
    }
}
