using System.Text;
using MechTests.Circuits;
using MechTests.Graphs;
using MechTests.Models;
using MechTests.Patching;

namespace MechTests.Reports;

/// <summary>
/// One self-contained HTML page about a circuit: the graph laid out by layer (edge width ∝ |score|, colour by sign,
/// nodes coloured by their activation-patching effect, tooltips with names, scores and conventions; every node element
/// carries <c>data-node="NAME"</c> and every edge element <c>data-edge="NAME"</c> with the circuit file's names), the
/// faithfulness curve with CPR and CMD as recorded in the file, AtP* against activation patching where a model was
/// given, the metrics with their conventions and the task's prompt pairs.
/// The page loads nothing (inline SVG, style and script; a Content-Security-Policy forbids every fetch) and its bytes
/// depend only on the inputs, so a report can be snapshot-tested and attached to CI runs.
/// Why hand-written SVG rather than ScottPlot or MSAGL: no native SkiaSharp binaries in the core package, no layout
/// engine whose output could drift between versions, byte-for-byte determinism, and a name-copy report of tens of
/// kilobytes. See docs/reports.md.
/// </summary>
/// <example><code>
/// var file = CircuitFile.Read("circuits/name-copy.json");
/// new CircuitReport(file) { Pairs = PromptPairText.FromTaskFile(file) }.Write("name-copy.html");
/// // with measurements on a model (AtP* against patching):
/// CircuitReport.Measure(file, ModelLoader.Load(EmbeddedModels.Stories260KPath)).Write("name-copy.html");
/// </code></example>
public sealed class CircuitReport
{
    /// <summary>A report of <paramref name="file"/> from what the file records (no model).</summary>
    /// <example><code>
    /// var report = new CircuitReport(CircuitFile.Read("circuits/name-copy.json"));
    /// </code></example>
    public CircuitReport(CircuitFile file) => File = file;

    /// <summary>The circuit file shown.</summary>
    public CircuitFile File { get; }

    /// <summary>AtP* against activation patching of the task's nodes (null: section says a model is needed).</summary>
    public AttributionComparison? Attribution { get; init; }

    /// <summary>The task's prompt pairs as text (null: not shown).</summary>
    public IReadOnlyList<PromptPairText>? Pairs { get; init; }

    /// <summary>Heading; defaults to the circuit file's name.</summary>
    public string? Title { get; init; }

    /// <summary>A message shown at the top, e.g. the assertion that failed (null: none).</summary>
    public string? Note { get; init; }

    /// <summary>
    /// For a failed claim about <paramref name="file"/>: writes its report measured on <paramref name="runs"/> (the
    /// model the claim failed on), headed by <paramref name="failure"/>, to <c>NAME.claim.received.html</c> next to the
    /// circuit file (git-ignored like every <c>*.received.*</c>; the temp folder for a file not read from disk) and
    /// returns the full path.
    /// </summary>
    /// <example><code>
    /// string path = CircuitReport.WriteClaimFailure(claim, runs, "Expected circuit file to be faithful, f(C) ≥ 0.9, but f(C) = 0.56 …");
    /// </code></example>
    public static string WriteClaimFailure(CircuitFile file, TaskRuns runs, string failure)
    {
        string path = file.SourcePath != null
            ? Path.ChangeExtension(Path.GetFullPath(file.SourcePath), null) + ".claim.received.html"
            : Path.Combine(Path.GetTempPath(), "mechtests-reports", file.Task.Name + ".claim.received.html");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        new CircuitReport(file)
        {
            Attribution = AttributionComparison.Measure(runs),
            Pairs = PromptPairText.FromTaskFile(file),
            Note = failure,
        }.Write(path);
        return path;
    }

    /// <summary>
    /// A report with measurements on <paramref name="model"/>: the task is resolved from the file, the pairs decoded
    /// with the model's tokenizer, and AtP* compared with activation patching of every component node.
    /// </summary>
    /// <example><code>
    /// var report = CircuitReport.Measure(CircuitFile.Read("circuits/name-copy.json"), ModelLoader.Load(EmbeddedModels.Stories260KPath));
    /// </code></example>
    public static CircuitReport Measure(CircuitFile file, LoadedModel model, int topK = 10, IProgress<int>? progress = null)
    {
        var task = file.Task.Resolve(file.SourcePath ?? "circuit", model.Tokenizer, model.Config.VocabSize);
        using var runs = TaskRuns.Create(ModelBackends.Create(model), task);
        return new CircuitReport(file)
        {
            Attribution = AttributionComparison.Measure(runs, topK, progress),
            Pairs = PromptPairText.Decode(task, model.Tokenizer),
        };
    }

    /// <summary>The page (UTF-8 text, LF line endings).</summary>
    /// <example><code>
    /// string html = new CircuitReport(file).ToHtml();
    /// </code></example>
    public string ToHtml()
    {
        var f = File;
        string name = Title ?? (f.SourcePath != null ? Path.GetFileName(f.SourcePath) : f.Task.Name);
        var sb = new StringBuilder();
        sb.Append($"<h1>Circuit report: {Html.E(name)}</h1>\n<p class=\"sub\">{Html.E(ReportSections.Facts(f))}</p>\n");
        if (Note != null) sb.Append($"<pre id=\"note\" style=\"background:#fef2f2;border:1px solid #fecaca;padding:8px;white-space:pre-wrap\">{Html.E(Note)}</pre>\n");
        sb.Append("<h2 id=\"circuit-graph\">Circuit graph</h2>\n");
        sb.Append(GraphSvg.Render(f.Circuit.Graph, Nodes(), Edges(), "circuit graph"));
        sb.Append("<p class=\"legend\"><span><i class=\"sw\" style=\"background:#2563eb\"></i>positive score</span><span><i class=\"sw\" style=\"background:#dc2626\"></i>negative score</span>");
        sb.Append($"<span>node fill: {(Attribution != null ? "−(activation-patching effect): blue = patching the node to its corrupted value lowers the metric (it carries the behaviour), red = raises it, white ≈ 0" : "no effect measured (pass a model)")}</span><span>q/k/v: a head's query, key and value inputs</span></p>\n");
        sb.Append($"<p class=\"note\">Input at the bottom, logits at the top, one row per layer (heads, then the MLP); hover a node or edge for its name, score and conventions. {Html.E(ReportSections.ScoreConventions(f))}.</p>\n");
        ReportSections.Curves(sb, [(f, name)]);
        AttributionSection(sb);
        ReportSections.Metrics(sb, f);
        ReportSections.Pairs(sb, f, Pairs);
        return Html.Page($"Circuit report: {name}", sb.ToString());
    }

    /// <summary>Writes the page atomically.</summary>
    /// <example><code>
    /// new CircuitReport(file).Write("artifacts/name-copy.html");
    /// </code></example>
    public void Write(string path) => AtomicFile.WriteAllText(path, ToHtml());

    private List<DrawnNode> Nodes()
    {
        var effects = Attribution?.Patching.Effects;
        var nodeScores = File.Circuit.NodeScores;
        double max = File.Circuit.Nodes.Select(n => effects != null && effects.TryGetValue(n.Name, out double e) ? Math.Abs(e) : 0).DefaultIfEmpty(0).Max();
        return File.Circuit.Nodes.Select(n =>
        {
            var tip = new StringBuilder(n.Name);
            string fill = "#f3f4f6";
            if (nodeScores.TryGetValue(n.Name, out double s)) tip.Append($"\nnode score {Html.G(s)} ({ReportSections.ScoreConventions(File).Split(';')[0]})");
            if (effects != null && effects.TryGetValue(n.Name, out double e))
            {
                fill = Html.Diverging(max > 0 ? -e / max : 0); // patching a node that helps lowers the metric: show help as blue
                tip.Append($"\nactivation patching effect {Html.G(e)} ({Attribution!.Patching.Conventions}; metric {Attribution.Patching.Metric})");
                if (Attribution.AtPStar.Scores.TryGetValue(n.Name, out double a)) tip.Append($"\nAtP* {Html.G(a)} (abs_mean, QK fix, GradDrop)");
            }
            else if (n.Kind is NodeKind.Input or NodeKind.Logits) fill = "#e5e7eb";
            int into = File.Circuit.Edges.Count(x => x.Child.Node == n), outOf = File.Circuit.Edges.Count(x => x.Parent == n);
            tip.Append($"\n{Html.I(into)} edges in, {Html.I(outOf)} out");
            return new DrawnNode(n, fill, tip.ToString());
        }).ToList();
    }

    private List<DrawnEdge> Edges()
    {
        var scores = File.Circuit.Scores;
        double max = scores.Values.Select(Math.Abs).DefaultIfEmpty(0).Max();
        string conv = ReportSections.ScoreConventions(File);
        return File.Circuit.Edges.Select(e =>
        {
            bool has = scores.TryGetValue(e.Name, out double s);
            double width = has && max > 0 ? 0.8 + 5.2 * Math.Abs(s) / max : 1.2;
            string color = !has ? "#9ca3af" : s >= 0 ? "#2563eb" : "#dc2626";
            return new DrawnEdge(e, width, color, $"{e.Name}\nscore {(has ? Html.G(s) : "(none)")}\n{conv}");
        }).ToList();
    }

    private void AttributionSection(StringBuilder sb)
    {
        sb.Append("<h2 id=\"attribution\">AtP* against activation patching</h2>\n");
        if (Attribution is not { } a)
        {
            sb.Append("<p class=\"note\">Not measured: the comparison needs the model (<code>mechtests report CIRCUIT.json --model PATH</code>; without <code>--model</code> the embedded stories260K is used).</p>\n");
            return;
        }
        var g = a.Agreement;
        var members = File.Circuit.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var names = a.Patching.Effects.Keys.Where(a.AtPStar.Scores.ContainsKey).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var trueTop = names.OrderByDescending(n => Math.Abs(a.Patching.Effects[n])).ThenBy(n => n, StringComparer.Ordinal).Take(g.TopK).ToHashSet(StringComparer.Ordinal);
        string tipConv = $"x: AtP* ({a.AtPStar.AggregationName}); y: |{a.Patching.Conventions}|";
        sb.Append(ScatterSvg.Render(names.Select(n => (n, a.AtPStar.Scores[n], a.Patching.Effects[n], members.Contains(n), trueTop.Contains(n))).ToList(), tipConv));
        sb.Append($"<p class=\"figure\" id=\"agreement\"><b>Spearman ρ {Html.F(g.Spearman)}</b> · <b>top-{Html.I(g.TopK)} recall {Html.F(g.TopKRecall)}</b> · relative cost of verified recall {Html.F(g.RelativeCost)} ({Html.I(g.VerificationCost)} patching passes for {Html.I(g.TopK)}) · {Html.I(g.Count)} nodes{(g.MissedTopK.Count > 0 ? " · missed: " + Html.E(string.Join(", ", g.MissedTopK)) : "")}</p>\n");
        sb.Append($"<p class=\"note\">One point per component node (input, heads, MLPs); filled = in the circuit, ringed = true top-{Html.I(g.TopK)} by |patching effect|; dashed line y = x. Conventions: {Html.E(g.Conventions)}; AtP*: {Html.E(a.AtPStar.AggregationName)} over pairs, QK fix and GradDrop; patching: {Html.E(a.Patching.Conventions)}, metric {Html.E(a.Patching.Metric)}.</p>\n");
    }
}
