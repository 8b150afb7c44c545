using System.Text;

namespace MechTests.Circuits;

/// <summary>An edge (or node score) that differs: added (Before null), removed (After null) or re-scored.</summary>
/// <param name="Name">Edge or node name.</param>
/// <param name="Before">Score in the first file (null when absent or unscored).</param>
/// <param name="After">Score in the second file.</param>
public sealed record EdgeDifference(string Name, double? Before, double? After)
{
    /// <summary>After − Before when both are known.</summary>
    public double? Delta => Before is double b && After is double a ? a - b : null;
}

/// <summary>A field that differs: header fields exactly, numbers beyond tolerance.</summary>
/// <param name="Field">Path such as <c>model.weightsSha256</c>, <c>metrics.faithfulness.value</c>, <c>metrics.cpr.details.points[3].faithfulness</c>.</param>
/// <param name="Before">Value in the first file as text (null when absent).</param>
/// <param name="After">Value in the second file as text (null when absent).</param>
/// <param name="Delta">After − Before for numbers.</param>
/// <param name="Tolerance">The absolute tolerance applied (plus the relative one), for numbers.</param>
public sealed record ValueDifference(string Field, string? Before, string? After, double? Delta = null, double? Tolerance = null);

/// <summary>
/// A role claim that differs (docs/circuit-format.md "Role claims"): added or removed, its threshold or source changed,
/// or its measured value moved beyond tolerance — with whether it holds before and after.
/// </summary>
/// <param name="Role">The claim's name, e.g. <c>a2.h6 promotes-answer</c>.</param>
/// <param name="Field"><c>role</c> (added/removed), <c>threshold</c>, <c>on</c> or <c>value</c>.</param>
/// <param name="Before">The first file's text (threshold, source or value; null when absent or not measured).</param>
/// <param name="After">The second file's text.</param>
/// <param name="Delta">After − Before for values.</param>
/// <param name="Tolerance">The absolute tolerance applied to values (plus the relative one).</param>
/// <param name="Text">The rendered line, e.g. <c>~ a2.h6 promotes-answer: DLA 1.38 -> 0.41 (…), claim atLeast 0.5 — claim no longer holds</c>.</param>
public sealed record RoleDifference(string Role, string Field, string? Before, string? After, double? Delta = null, double? Tolerance = null, string Text = "");

/// <summary>
/// The semantic differences between two circuit files: what changed in the model/task/method, which nodes and edges
/// were added or removed (with scores, largest first), which scores and metrics moved beyond tolerance (largest
/// first). <see cref="Render"/> gives the text that snapshot failures and <c>mechtests diff</c> print.
/// </summary>
public sealed class CircuitDiffResult
{
    internal CircuitDiffResult(CircuitTolerances tolerances, IReadOnlyList<ValueDifference> header, IReadOnlyList<string> addedNodes,
        IReadOnlyList<string> removedNodes, IReadOnlyList<EdgeDifference> addedEdges, IReadOnlyList<EdgeDifference> removedEdges,
        IReadOnlyList<EdgeDifference> scoreChanges, IReadOnlyList<ValueDifference> metricChanges, IReadOnlyList<RoleDifference> roleChanges)
    {
        RoleChanges = roleChanges;
        Tolerances = tolerances;
        Header = header;
        AddedNodes = addedNodes;
        RemovedNodes = removedNodes;
        AddedEdges = addedEdges;
        RemovedEdges = removedEdges;
        ScoreChanges = scoreChanges;
        MetricChanges = metricChanges;
    }

    /// <summary>The tolerances used.</summary>
    public CircuitTolerances Tolerances { get; }

    /// <summary>Model, task, method, parameters, level, schema and tolerance fields that differ (exact comparison).</summary>
    public IReadOnlyList<ValueDifference> Header { get; }

    /// <summary>Nodes only in the second file, graph order.</summary>
    public IReadOnlyList<string> AddedNodes { get; }

    /// <summary>Nodes only in the first file, graph order.</summary>
    public IReadOnlyList<string> RemovedNodes { get; }

    /// <summary>Edges only in the second file, largest |score| first.</summary>
    public IReadOnlyList<EdgeDifference> AddedEdges { get; }

    /// <summary>Edges only in the first file, largest |score| first.</summary>
    public IReadOnlyList<EdgeDifference> RemovedEdges { get; }

    /// <summary>Edges (and nodes) in both whose scores differ beyond tolerance, largest |Δ| first.</summary>
    public IReadOnlyList<EdgeDifference> ScoreChanges { get; }

    /// <summary>
    /// Metric values, units, conventions and details that differ (numbers beyond tolerance): structural changes
    /// (added/removed entries, strings) first, then numbers by |Δ|, largest first.
    /// </summary>
    public IReadOnlyList<ValueDifference> MetricChanges { get; }

    /// <summary>Role claims added, removed, re-thresholded or whose measured value moved beyond tolerance; claims that stopped holding first.</summary>
    public IReadOnlyList<RoleDifference> RoleChanges { get; }

    /// <summary>Number of differences.</summary>
    public int Count => Header.Count + AddedNodes.Count + RemovedNodes.Count + AddedEdges.Count + RemovedEdges.Count + ScoreChanges.Count + MetricChanges.Count + RoleChanges.Count;

    /// <summary>True when nothing differs beyond tolerance.</summary>
    public bool AreEquivalent => Count == 0;

    /// <summary>
    /// Human- and machine-readable text: one section per kind, one difference per line prefixed <c>+</c> (added),
    /// <c>-</c> (removed) or <c>~</c> (changed); at most <paramref name="maxPerSection"/> lines per section.
    /// </summary>
    public string Render(int maxPerSection = 25)
    {
        var t = Tolerances;
        var sb = new StringBuilder();
        if (AreEquivalent)
            return $"No differences beyond tolerance (score ±{Invariant.G(t.Score)}, faithfulness ±{Invariant.G(t.Faithfulness)}, metric ±{Invariant.G(t.Metric)}, relative {Invariant.G(t.Relative)}).\n";
        sb.Append($"{Count} difference{(Count == 1 ? "" : "s")} beyond tolerance (score ±{Invariant.G(t.Score)}, faithfulness ±{Invariant.G(t.Faithfulness)}, metric ±{Invariant.G(t.Metric)}, relative {Invariant.G(t.Relative)}):\n");
        Section(sb, "Header changes", Header, maxPerSection, v => $"  ~ {v.Field}: {v.Before ?? "(absent)"} -> {v.After ?? "(absent)"}");
        Section(sb, "Role claims", RoleChanges, maxPerSection, r => $"  {r.Text}");
        Section(sb, "Edges added, largest |score| first", AddedEdges, maxPerSection, e => $"  + {e.Name}  score {Score(e.After)}");
        Section(sb, "Edges removed, largest |score| first", RemovedEdges, maxPerSection, e => $"  - {e.Name}  score {Score(e.Before)}");
        Section(sb, "Score changes beyond tolerance, largest first", ScoreChanges, maxPerSection,
            e => $"  ~ {e.Name}  {Score(e.Before)} -> {Score(e.After)}  (Δ {Signed(e.Delta)})");
        Section(sb, "Nodes added", AddedNodes, maxPerSection, n => $"  + {n}");
        Section(sb, "Nodes removed", RemovedNodes, maxPerSection, n => $"  - {n}");
        Section(sb, "Metric changes beyond tolerance, largest first", MetricChanges, maxPerSection, v => v.Delta is double d
            ? $"  ~ {v.Field}  {v.Before} -> {v.After}  (Δ {Signed(d)}; tolerance {Invariant.G(v.Tolerance ?? 0)} + {Invariant.G(t.Relative)}·max)"
            : $"  ~ {v.Field}  {v.Before ?? "(absent)"} -> {v.After ?? "(absent)"}");
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Render();

    private static void Section<T>(StringBuilder sb, string title, IReadOnlyList<T> items, int max, Func<T, string> line)
    {
        if (items.Count == 0) return;
        sb.Append($"{title} ({items.Count}):\n");
        foreach (var item in items.Take(max)) sb.Append(line(item)).Append('\n');
        if (items.Count > max) sb.Append($"  … and {items.Count - max} more\n");
    }

    private static string Score(double? s) => s is double v ? Invariant.G(v) : "(none)";

    private static string Signed(double? d) => d is double v ? (v >= 0 ? "+" : "") + Invariant.G(v) : "?";
}
