using MechTests.Graphs;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats a <see cref="GraphNode"/> by its name (<c>a1.h2</c>, <c>m0</c>, <c>logits</c>).</summary>
internal sealed class GraphNodeFormatter : TypedFormatter<GraphNode>
{
    protected override IReadOnlyList<string> Lines(GraphNode n, bool lineBreaks) => [n.Name];
}
