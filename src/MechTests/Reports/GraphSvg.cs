using System.Text;
using MechTests.Graphs;

namespace MechTests.Reports;

/// <summary>A node as drawn: fill colour, tooltip text, optional diff state (<c>added</c>, <c>removed</c>, <c>same</c>).</summary>
internal sealed record DrawnNode(GraphNode Node, string Fill, string Tip, string? State = null);

/// <summary>An edge as drawn: stroke width and colour, tooltip, optional diff state, dashed for "only in A".</summary>
internal sealed record DrawnEdge(GraphEdge Edge, double Width, string Stroke, string Tip, string? State = null, bool Dashed = false);

/// <summary>
/// The circuit graph as inline SVG, laid out by hand by layer: <c>input</c> at the bottom, <c>logits</c> at the top,
/// one row per layer with its heads (by head index) and, to their right, its MLP. In a sequential block the MLP
/// reads the heads of its own layer, so it sits half a row higher and those edges still point upwards; in a
/// parallel block (GPT-NeoX) it sits level with the heads. Heads show their q/k/v inputs as three ports on their
/// lower edge, and edges end at the port they feed.
/// Why by hand and not MSAGL or Graphviz-style layout: the graph is already layered by construction, so a fixed
/// placement is both what people expect (the transformer's own order) and trivially deterministic — the same
/// circuit gives the same bytes on every machine, which is what lets reports be snapshot-tested.
/// </summary>
internal static class GraphSvg
{
    private const double RowHeight = 120, NodeWidth = 64, NodeHeight = 28, Gap = 16, Margin = 40;

    /// <summary>Node centres by name, plus the canvas size.</summary>
    public static (Dictionary<string, (double X, double Y)> Centers, double Width, double Height) Layout(ComputeGraph graph, IEnumerable<GraphNode> nodes)
    {
        int Row(GraphNode n) => n.Kind switch { NodeKind.Input => 0, NodeKind.Logits => graph.Layers + 1, _ => n.Layer + 1 };
        var rows = nodes.Distinct().GroupBy(Row).ToDictionary(g => g.Key, g => g.OrderBy(n => n.ForwardIndex).ToList());
        int widest = rows.Count == 0 ? 1 : rows.Values.Max(r => r.Count);
        double width = Math.Max(720, widest * (NodeWidth + Gap) - Gap + 2 * Margin);
        int top = graph.Layers + 1;
        double height = (top + 1) * RowHeight - RowHeight + 2 * Margin + NodeHeight;
        var centers = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        foreach (var (row, list) in rows.OrderBy(kv => kv.Key))
        {
            double y = Margin + NodeHeight / 2 + (top - row) * RowHeight;
            double total = list.Count * (NodeWidth + Gap) - Gap;
            double x = (width - total) / 2 + NodeWidth / 2;
            foreach (var n in list)
            {
                double dy = n.Kind == NodeKind.Mlp && !graph.ParallelAttnMlp ? -0.45 * RowHeight : 0;
                centers[n.Name] = (x, y + dy);
                x += NodeWidth + Gap;
            }
        }
        return (centers, width, height);
    }

    private static double PortOffset(Port p) => p switch { Port.Q => -20, Port.K => 0, Port.V => 20, _ => 0 };

    /// <summary>The SVG element: edges (with wide invisible hit paths for hovering) under nodes.</summary>
    public static string Render(ComputeGraph graph, IReadOnlyList<DrawnNode> nodes, IReadOnlyList<DrawnEdge> edges, string label)
    {
        var all = nodes.Select(n => n.Node).Concat(edges.SelectMany(e => new[] { e.Edge.Parent, e.Edge.Child.Node }));
        var (at, w, h) = Layout(graph, all);
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"graph\" viewBox=\"0 0 {Html.C(w)} {Html.C(h)}\" width=\"{Html.C(w)}\" height=\"{Html.C(h)}\" role=\"img\" aria-label=\"{Html.E(label)}\">\n");
        sb.Append("<g id=\"edges\">\n");
        foreach (var e in edges)
        {
            var (x1, y1) = at[e.Edge.Parent.Name];
            var (x2, y2) = at[e.Edge.Child.Node.Name];
            y1 -= NodeHeight / 2;
            y2 += NodeHeight / 2;
            x2 += PortOffset(e.Edge.Child.Port);
            double ym = (y1 + y2) / 2;
            string d = $"M{Html.C(x1)} {Html.C(y1)}C{Html.C(x1)} {Html.C(ym)} {Html.C(x2)} {Html.C(ym)} {Html.C(x2)} {Html.C(y2)}";
            sb.Append($"<g data-edge=\"{Html.E(e.Edge.Name)}\" data-from=\"{Html.E(e.Edge.Parent.Name)}\" data-to=\"{Html.E(e.Edge.Child.Node.Name)}\"");
            if (e.State != null) sb.Append($" data-diff=\"{e.State}\"");
            sb.Append($" data-tip=\"{Html.E(e.Tip)}\"><path class=\"hit\" d=\"{d}\" stroke-width=\"{Html.C(Math.Max(9, e.Width + 6))}\"/>");
            sb.Append($"<path class=\"line\" d=\"{d}\" stroke=\"{e.Stroke}\" stroke-width=\"{Html.C(e.Width)}\" opacity=\"0.8\"{(e.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/></g>\n");
        }
        sb.Append("</g>\n<g id=\"nodes\">\n");
        foreach (var n in nodes)
        {
            var (x, y) = at[n.Node.Name];
            sb.Append($"<g data-node=\"{Html.E(n.Node.Name)}\"");
            if (n.State != null) sb.Append($" data-diff=\"{n.State}\"");
            string outline = n.State switch { "added" => " style=\"stroke:#16a34a;stroke-width:2.5\"", "removed" => " style=\"stroke:#dc2626;stroke-width:2.5;stroke-dasharray:5 3\"", _ => "" };
            double nw = n.Node.Kind is NodeKind.Input or NodeKind.Logits ? 2 * NodeWidth : NodeWidth;
            sb.Append($" data-tip=\"{Html.E(n.Tip)}\"><rect x=\"{Html.C(x - nw / 2)}\" y=\"{Html.C(y - NodeHeight / 2)}\" width=\"{Html.C(nw)}\" height=\"{Html.C(NodeHeight)}\" rx=\"5\" fill=\"{n.Fill}\"{outline}/>");
            sb.Append($"<text x=\"{Html.C(x)}\" y=\"{Html.C(n.Node.Kind == NodeKind.Head ? y - 1 : y + 4)}\" text-anchor=\"middle\">{Html.E(n.Node.Name)}</text>");
            if (n.Node.Kind == NodeKind.Head)
                foreach (var p in new[] { Port.Q, Port.K, Port.V })
                {
                    double px = x + PortOffset(p), py = y + NodeHeight / 2;
                    string pl = GraphInput.PortSuffix(p)[1..2];
                    sb.Append($"<circle class=\"port\" cx=\"{Html.C(px)}\" cy=\"{Html.C(py)}\" r=\"3.5\"/><text class=\"port-label\" x=\"{Html.C(px)}\" y=\"{Html.C(py - 5)}\" text-anchor=\"middle\">{pl}</text>");
                }
            sb.Append("</g>\n");
        }
        sb.Append("</g>\n</svg>\n");
        return sb.ToString();
    }
}
