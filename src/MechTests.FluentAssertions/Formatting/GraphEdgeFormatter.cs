using MechTests.Graphs;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats a <see cref="GraphEdge"/> by its name (<c>a0.h1-&gt;a1.h2&lt;k&gt;</c>) instead of its record members.</summary>
internal sealed class GraphEdgeFormatter : TypedFormatter<GraphEdge>
{
    protected override IReadOnlyList<string> Lines(GraphEdge e, bool lineBreaks) => [e.Name];
}
