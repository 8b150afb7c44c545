using System.Text;
using MechTests.Circuits;
using MechTests.Graphs;

namespace MechTests.Reports;

/// <summary>
/// Two circuit files overlaid on one layout — the fine-tune regression view: edges only in A (removed, red dashed),
/// only in B (added, green), in both with a score that moved beyond the file's tolerance (changed, orange) or not
/// (grey); nodes outlined when only one side has them. Every edge element carries <c>data-edge="NAME"</c> and
/// <c>data-diff="removed|added|changed|same"</c>, every node <c>data-node</c> and <c>data-diff</c>. Below: both
/// faithfulness curves (B dashed), the headline metrics side by side and every change
/// <see cref="CircuitDiff.Compare"/> found. Self-contained and deterministic like <see cref="CircuitReport"/>.
/// </summary>
/// <example><code>
/// var a = CircuitFile.Read("circuits/name-copy.verified.json");
/// var b = CircuitFile.Read("circuits/name-copy.received.json");
/// new CircuitDiffReport(a, b).Write("name-copy.diff.html");
/// </code></example>
public sealed class CircuitDiffReport
{
    /// <summary>A diff of <paramref name="before"/> (A) and <paramref name="after"/> (B); <paramref name="diff"/> defaults to <see cref="CircuitDiff.Compare"/>.</summary>
    /// <example><code>
    /// var report = new CircuitDiffReport(verified, received);
    /// </code></example>
    public CircuitDiffReport(CircuitFile before, CircuitFile after, CircuitDiffResult? diff = null)
    {
        var ga = before.Circuit.Graph;
        var gb = after.Circuit.Graph;
        if (ga.Layers != gb.Layers || ga.Heads != gb.Heads || ga.ParallelAttnMlp != gb.ParallelAttnMlp)
            throw new ArgumentException($"Cannot overlay circuits over different graphs: {Where(before)} has {ga.Layers} layers × {ga.Heads} heads, {Where(after)} has {gb.Layers} × {gb.Heads}.");
        Before = before;
        After = after;
        Diff = diff ?? CircuitDiff.Compare(before, after);
    }

    /// <summary>A, e.g. the verified snapshot.</summary>
    public CircuitFile Before { get; }

    /// <summary>B, e.g. the received circuit.</summary>
    public CircuitFile After { get; }

    /// <summary>The semantic differences shown.</summary>
    public CircuitDiffResult Diff { get; }

    /// <summary>Label of A (default: its file name).</summary>
    public string? BeforeLabel { get; init; }

    /// <summary>Label of B (default: its file name).</summary>
    public string? AfterLabel { get; init; }

    /// <summary>The page (UTF-8 text, LF line endings).</summary>
    /// <example><code>
    /// string html = new CircuitDiffReport(a, b).ToHtml();
    /// </code></example>
    public string ToHtml()
    {
        string la = BeforeLabel ?? Where(Before), lb = AfterLabel ?? Where(After);
        if (la == lb) { la = "A: " + la; lb = "B: " + lb; }
        var graph = Before.Circuit.Graph;
        var changed = Diff.ScoreChanges.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var sa = Before.Circuit.Scores;
        var sbScores = After.Circuit.Scores;
        var inA = Before.Circuit.Edges.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var inB = After.Circuit.Edges.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var edges = graph.Edges.Where(e => inA.Contains(e.Name) || inB.Contains(e.Name)).ToList();
        double max = edges.Select(e => Math.Max(Abs(sa, e.Name), Abs(sbScores, e.Name))).DefaultIfEmpty(0).Max();
        int nRemoved = 0, nAdded = 0, nChanged = 0, nSame = 0;
        var drawnEdges = edges.Select(e =>
        {
            bool a = inA.Contains(e.Name), b = inB.Contains(e.Name);
            string state = a && b ? (changed.Contains(e.Name) ? "changed" : "same") : a ? "removed" : "added";
            _ = state switch { "removed" => nRemoved++, "added" => nAdded++, "changed" => nChanged++, _ => nSame++ };
            string color = state switch { "removed" => "#dc2626", "added" => "#16a34a", "changed" => "#d97706", _ => "#9ca3af" };
            double width = max > 0 ? 0.8 + 5.2 * Math.Max(Abs(sa, e.Name), Abs(sbScores, e.Name)) / max : 1.2;
            if (state != "same") width = Math.Max(width, 2.5); // what changed must be visible even when its score is small
            string what = state switch
            {
                "removed" => $"only in {la} (removed): score {S(sa, e.Name)}",
                "added" => $"only in {lb} (added): score {S(sbScores, e.Name)}",
                "changed" => $"score changed beyond tolerance: {S(sa, e.Name)} → {S(sbScores, e.Name)}",
                _ => $"in both: score {S(sa, e.Name)} → {S(sbScores, e.Name)} (within tolerance ±{Html.G(Diff.Tolerances.Score)})",
            };
            return new DrawnEdge(e, width, color, $"{e.Name}\n{what}\n{ReportSections.ScoreConventions(Before)}", state, Dashed: state == "removed");
        }).ToList();
        var nodesA = Before.Circuit.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var nodesB = After.Circuit.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var drawnNodes = graph.Nodes.Where(n => nodesA.Contains(n.Name) || nodesB.Contains(n.Name)).Select(n =>
        {
            bool a = nodesA.Contains(n.Name), b = nodesB.Contains(n.Name);
            string state = a && b ? "same" : a ? "removed" : "added";
            string tip = n.Name + state switch { "removed" => $"\nonly in {la}", "added" => $"\nonly in {lb}", _ => "\nin both" };
            return new DrawnNode(n, n.Kind is NodeKind.Input or NodeKind.Logits ? "#e5e7eb" : "#f3f4f6", tip, state);
        }).ToList();

        var sb = new StringBuilder();
        sb.Append($"<h1>Circuit diff: {Html.E(la)} → {Html.E(lb)}</h1>\n");
        sb.Append($"<p class=\"sub\">A = {Html.E(la)}: {Html.E(ReportSections.Facts(Before))}<br>B = {Html.E(lb)}: {Html.E(ReportSections.Facts(After))}</p>\n");
        sb.Append($"<p id=\"diff-summary\" class=\"figure\"><b>{(Diff.AreEquivalent ? "equivalent within tolerance" : $"{Html.I(Diff.Count)} difference{(Diff.Count == 1 ? "" : "s")} beyond tolerance")}</b> · edges: {Html.I(nRemoved)} only in A, {Html.I(nAdded)} only in B, {Html.I(nChanged)} changed score, {Html.I(nSame)} unchanged</p>\n");
        sb.Append("<h2 id=\"circuit-graph\">Both circuits on one layout</h2>\n");
        sb.Append(GraphSvg.Render(graph, drawnNodes, drawnEdges, "circuit diff"));
        sb.Append("<p class=\"legend\"><span><i class=\"sw\" style=\"background:#dc2626\"></i>only in A (removed, dashed)</span><span><i class=\"sw\" style=\"background:#16a34a\"></i>only in B (added)</span><span><i class=\"sw\" style=\"background:#d97706\"></i>score changed beyond tolerance</span><span><i class=\"sw\" style=\"background:#9ca3af\"></i>unchanged</span><span>width ∝ max |score| of A and B</span></p>\n");
        ReportSections.Curves(sb, [(Before, "A"), (After, "B")]);
        MetricComparison(sb);
        sb.Append("<h2 id=\"changes\">Every difference</h2>\n<pre id=\"diff-text\">").Append(Html.E(Diff.Render(maxPerSection: 1000))).Append("</pre>\n");
        ReportSections.Pairs(sb, After, PromptPairText.FromTaskFile(After) ?? PromptPairText.FromTaskFile(Before));
        return Html.Page($"Circuit diff: {la} → {lb}", sb.ToString());
    }

    /// <summary>Writes the page atomically.</summary>
    /// <example><code>
    /// new CircuitDiffReport(a, b).Write("name-copy.diff.html");
    /// </code></example>
    public void Write(string path) => AtomicFile.WriteAllText(path, ToHtml());

    private void MetricComparison(StringBuilder sb)
    {
        sb.Append("<h2 id=\"metrics\">Metrics</h2>\n<table id=\"metrics-table\"><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th><th>beyond tolerance</th><th>meaning</th></tr>\n");
        var moved = Diff.MetricChanges.Select(m => m.Field).ToList();
        foreach (var name in Before.Metrics.Keys.Union(After.Metrics.Keys).Order(StringComparer.Ordinal))
        {
            double? a = ReportSections.Value(Before, name), b = ReportSections.Value(After, name);
            string delta = a is double x && b is double y ? (y - x >= 0 ? "+" : "") + Html.G(y - x) : "";
            bool beyond = moved.Any(f => f.StartsWith($"metrics.{name}", StringComparison.Ordinal));
            sb.Append($"<tr data-metric=\"{Html.E(name)}\"{(beyond ? " class=\"moved\" style=\"background:#fef3c7\"" : "")}><td>{Html.E(name)}</td><td class=\"num\">{(a is double av ? Html.G(av) : "—")}</td><td class=\"num\">{(b is double bv ? Html.G(bv) : "—")}</td><td class=\"num\">{delta}</td><td>{(beyond ? "yes" : "")}</td><td>{Html.E(ReportSections.Meaning.GetValueOrDefault(name, ""))}</td></tr>\n");
        }
        sb.Append("</table>\n");
    }

    private static double Abs(IReadOnlyDictionary<string, double> s, string n) => s.TryGetValue(n, out double v) ? Math.Abs(v) : 0;

    private static string S(IReadOnlyDictionary<string, double> s, string n) => s.TryGetValue(n, out double v) ? Html.G(v) : "(none)";

    private static string Where(CircuitFile f) => f.SourcePath != null ? Path.GetFileName(f.SourcePath) : f.Task.Name;
}
