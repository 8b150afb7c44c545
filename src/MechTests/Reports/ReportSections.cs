using System.Text;
using System.Text.Json.Nodes;
using MechTests.Circuits;

namespace MechTests.Reports;

/// <summary>Pieces both reports share: header facts, score conventions, curves read from the file, metric tables, pairs.</summary>
internal static class ReportSections
{
    /// <summary>What a metric means, for the table (the conventions column carries the exact settings).</summary>
    public static readonly IReadOnlyDictionary<string, string> Meaning = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["faithfulness"] = "f = (L(C) − L(corrupted)) / (L(clean) − L(corrupted)), not clamped; 1 = the circuit alone recovers the model",
        ["cpr"] = "area under the faithfulness curve (signed ranking); higher is better",
        ["cmd"] = "area of |1 − f| along the curve (absolute ranking); lower is better",
        ["completeness"] = "worst |F(C\\K) − F(M\\K)| found over the search (metric units; details: normalised by |L(clean) − L(corrupted)|); lower is better",
        ["minimality"] = "components whose removal drops f by less than δ (count; fewer is better)",
        ["circuit"] = "L(C): task metric with everything outside the circuit patched",
        ["clean"] = "L(clean): task metric on clean prompts",
        ["corrupted"] = "L(corrupted): task metric on corrupted prompts",
    };

    /// <summary>The conventions of the edge scores, from the method parameters (e.g. <c>scores=atp-star/abs_mean</c>).</summary>
    public static string ScoreConventions(CircuitFile f)
    {
        string scores = f.Parameters.TryGetValue("scores", out var s) ? s : "as recorded by the method";
        string ranking = f.Parameters.TryGetValue("ranking", out var r) ? $", ranked {r}" : "";
        return $"score: {scores} (method {f.Method}{ranking}); width ∝ |score|, blue > 0, red < 0";
    }

    public static string Facts(CircuitFile f)
    {
        var m = f.Model;
        string sha = m.WeightsSha256.Length > 12 ? m.WeightsSha256[..12] + "…" : m.WeightsSha256;
        string param = string.Join(", ", f.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        return $"model {m.Architecture} ({Html.I(m.NLayers)} layers × {Html.I(m.NHeads)} heads, d={Html.I(m.DModel)}, weights {sha}) · task {f.Task.Name} (metric {f.Task.Metric}) · method {f.Method}{(param.Length > 0 ? $" ({param})" : "")} · {f.Circuit.Level.ToString().ToLowerInvariant()}-level, {Html.I(f.Circuit.Nodes.Count)} nodes, {Html.I(f.Circuit.Edges.Count)} edges";
    }

    /// <summary>The curve recorded in the file's <paramref name="key"/> metric (cpr or cmd), or null.</summary>
    public static (List<(int Edges, double Percent, double F)> Points, int Total)? Curve(CircuitFile f, string key)
    {
        if (!f.Metrics.TryGetValue(key, out var e) || e.Details?["points"] is not JsonArray pts) return null;
        int total = (int)Math.Round(Num(e.Details["totalEdges"]) is double t && double.IsFinite(t) ? t : 0);
        var list = pts.Select(p => ((int)Math.Round(Num(p?["edges"])), Num(p?["percent"]), Num(p?["faithfulness"]))).ToList();
        return (list, total);
    }

    private static double Num(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out double d) ? d : double.NaN;

    public static double? Value(CircuitFile f, string key) => f.Metrics.TryGetValue(key, out var e) ? e.Value : null;

    public static string Conventions(MetricEntry e) => string.Join(", ", e.Conventions.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

    /// <summary>The faithfulness-curve section for one or two files (the second dashed).</summary>
    public static void Curves(StringBuilder sb, IReadOnlyList<(CircuitFile File, string Label)> files)
    {
        sb.Append("<h2 id=\"faithfulness-curve\">Faithfulness curve</h2>\n");
        var series = new List<CurveSeries>();
        var marks = new List<CurveMark>();
        int total = 0;
        var caption = new StringBuilder();
        for (int i = 0; i < files.Count; i++)
        {
            var (f, label) = files[i];
            string who = files.Count > 1 ? $"{label}: " : "";
            foreach (var (key, color, toOne) in new[] { ("cpr", i == 0 ? "#2563eb" : "#7c3aed", false), ("cmd", i == 0 ? "#d97706" : "#db2777", true) })
            {
                if (Curve(f, key) is not { } c) continue;
                total = Math.Max(total, c.Total);
                string ranking = key == "cpr" ? "signed ranking (CPR)" : "absolute ranking (CMD)";
                series.Add(new CurveSeries(key + (i == 0 ? "" : "-b"), who + ranking, color, c.Points, toOne, Dashed: i > 0));
            }
            if (Value(f, "faithfulness") is double fv)
                marks.Add(new CurveMark($"{who}this circuit", f.Circuit.Edges.Count, fv, i == 0 ? "#facc15" : "#a3e635"));
            caption.Append("<p class=\"figure\">").Append(Html.E(who));
            caption.Append(f.Metrics.TryGetValue("cpr", out var cpr) ? $"<b>CPR {Html.F(cpr.Value)}</b> (area under f, signed ranking, higher is better) · " : "no CPR recorded · ");
            caption.Append(f.Metrics.TryGetValue("cmd", out var cmd) ? $"<b>CMD {Html.F(cmd.Value)}</b> (area of |1 − f|, absolute ranking, lower is better) · " : "no CMD recorded · ");
            caption.Append(Value(f, "faithfulness") is double ff ? $"this circuit: <b>f = {Html.F(ff)}</b> at {Html.I(f.Circuit.Edges.Count)} edges" : "no faithfulness recorded");
            caption.Append("</p>\n");
        }
        if (series.Count == 0)
        {
            sb.Append("<p class=\"note\">No curve recorded in the circuit file (methods that rank nothing, such as ACDC, have none; <code>mechtests discover</code> with a ranking method records it).</p>\n");
            sb.Append(caption);
            return;
        }
        sb.Append(CurveSvg.Render(series, total, marks));
        sb.Append(caption);
        var conv = files[0].File.Metrics.TryGetValue("cpr", out var ce) ? Conventions(ce) : files[0].File.Metrics.TryGetValue("cmd", out var me) ? Conventions(me) : "";
        sb.Append($"<p class=\"note\">As MIB plots it: the top-k edges of the whole graph by the recorded ranking, k = 0.1 % … 100 % of {Html.I(total)} edges, pruned, each evaluated with everything outside patched to its corrupted value; x is the number of edges left after pruning (log scale). CPR and CMD are trapezoid areas over the x axis named in the conventions ({Html.E(conv)}), as recorded in the circuit file — not recomputed here; the shading on the log axis shows where each area comes from, not its size.</p>\n");
    }

    /// <summary>The metrics table of one file.</summary>
    public static void Metrics(StringBuilder sb, CircuitFile f)
    {
        sb.Append("<h2 id=\"metrics\">Metrics</h2>\n");
        if (f.Metrics.Count == 0) { sb.Append("<p class=\"note\">No metrics recorded (run <code>mechtests evaluate</code>).</p>\n"); return; }
        sb.Append("<table id=\"metrics-table\"><tr><th>metric</th><th>value</th><th>unit</th><th>meaning</th><th>conventions</th></tr>\n");
        foreach (var (name, e) in f.Metrics)
        {
            string extra = name switch
            {
                "completeness" when e.Details?["normalized"] is JsonValue n => $"; normalised {Html.F(Num(n))}",
                "minimality" when e.Details?["components"] is JsonValue c => $" of {c.ToJsonString()} not necessary",
                _ => "",
            };
            sb.Append($"<tr data-metric=\"{Html.E(name)}\"><td>{Html.E(name)}</td><td class=\"num\">{Html.G(e.Value)}{Html.E(extra)}</td><td>{Html.E(e.Unit)}</td><td>{Html.E(Meaning.GetValueOrDefault(name, ""))}</td><td><code>{Html.E(Conventions(e))}</code></td></tr>\n");
        }
        sb.Append("</table>\n");
    }

    /// <summary>The task's prompt pairs.</summary>
    public static void Pairs(StringBuilder sb, CircuitFile f, IReadOnlyList<PromptPairText>? pairs)
    {
        sb.Append($"<h2 id=\"pairs\">Task: {Html.E(f.Task.Name)} (metric {Html.E(f.Task.Metric)})</h2>\n");
        if (pairs == null || pairs.Count == 0) { sb.Append("<p class=\"note\">The task's prompt pairs are not available here (task file not found).</p>\n"); return; }
        sb.Append("<table id=\"pairs-table\"><tr><th>#</th><th>clean</th><th>corrupted</th><th>correct</th><th>wrong</th></tr>\n");
        for (int i = 0; i < pairs.Count; i++)
        {
            var p = pairs[i];
            sb.Append($"<tr><td class=\"num\">{Html.I(i)}</td><td>{Html.E(p.Clean)}</td><td>{Html.E(p.Corrupted)}</td><td><code>{Html.E(p.Correct)}</code></td><td><code>{Html.E(p.Wrong)}</code></td></tr>\n");
        }
        sb.Append("</table>\n");
    }
}
