using MechTests.Circuits;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats a <see cref="Circuit"/> as its level, size, graph shape and members (with scores where known).</summary>
internal sealed class CircuitFormatter : TypedFormatter<Circuit>
{
    /// <summary>Members listed before "… and N more".</summary>
    public const int MaxItems = 25;

    public static string Describe(Circuit c, int maxItems = MaxItems) => Header(c) + ": " + string.Join(", ", Members(c, maxItems));

    protected override IReadOnlyList<string> Lines(Circuit c, bool lineBreaks)
        => lineBreaks ? [Header(c) + ":", .. Members(c, MaxItems)] : [Describe(c)];

    private static string Header(Circuit c)
    {
        string shape = $"{Num.I(c.Graph.Layers)} layers × {Num.I(c.Graph.Heads)} heads{(c.Graph.ParallelAttnMlp ? ", parallel attention/MLP" : "")}";
        return c.Level == CircuitLevel.Edge
            ? $"edge-level circuit with {Num.I(c.Edges.Count)} edges over {Num.I(c.Nodes.Count)} nodes ({shape})"
            : $"node-level circuit with {Num.I(c.Nodes.Count)} nodes and {Num.I(c.Edges.Count)} edges ({shape})";
    }

    private static List<string> Members(Circuit c, int maxItems)
    {
        var items = c.Level == CircuitLevel.Edge
            ? c.Edges.Select(e => c.Scores.TryGetValue(e.Name, out double s) ? $"{e.Name} ({Num.G(s)})" : e.Name).ToList()
            : c.Nodes.Select(n => c.NodeScores.TryGetValue(n.Name, out double s) ? $"{n.Name} ({Num.G(s)})" : n.Name).ToList();
        if (items.Count == 0) return ["no edges"];
        if (items.Count <= maxItems) return items;
        return [.. items.Take(maxItems), $"… and {Num.I(items.Count - maxItems)} more"];
    }
}
