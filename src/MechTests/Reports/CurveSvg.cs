using System.Text;

namespace MechTests.Reports;

/// <summary>One faithfulness curve as recorded in a circuit file's <c>cpr</c>/<c>cmd</c> details.</summary>
/// <param name="Key">Metric name it came from (<c>cpr</c> or <c>cmd</c>), used in element ids.</param>
/// <param name="Label">Legend text.</param>
/// <param name="Color">Stroke colour.</param>
/// <param name="Points">(edges kept after pruning, requested %, faithfulness) in grid order.</param>
/// <param name="ShadeToOne">Shade between the curve and f = 1 (CMD) instead of under the curve (CPR).</param>
/// <param name="Dashed">Dashed line (the second circuit of a diff).</param>
internal sealed record CurveSeries(string Key, string Label, string Color, IReadOnlyList<(int Edges, double Percent, double F)> Points, bool ShadeToOne, bool Dashed = false);

/// <summary>A circuit's own (edges, faithfulness) point on the curve plot.</summary>
internal sealed record CurveMark(string Label, int Edges, double F, string Color);

/// <summary>
/// Faithfulness against the number of edges kept, as MIB plots it: log-scaled x (edges kept, 1 … all edges),
/// f on y, f = 0 and f = 1 drawn. The CPR curve (signed ranking) is shaded under f, the CMD curve (absolute
/// ranking) between f and 1. The areas printed come from the circuit file; they integrate over a linear x
/// (see the caption), so the shading on the log axis shows where the area comes from, not its size.
/// </summary>
internal static class CurveSvg
{
    private const double W = 640, H = 320, L = 56, R = 16, T = 16, B = 44;

    public static string Render(IReadOnlyList<CurveSeries> series, int totalEdges, IReadOnlyList<CurveMark> marks)
    {
        var fs = series.SelectMany(s => s.Points.Select(p => p.F)).Concat(marks.Select(m => m.F)).Where(double.IsFinite).ToList();
        double ymin = Math.Min(0, fs.Count == 0 ? 0 : Math.Floor(fs.Min() * 10) / 10), ymax = Math.Max(1.1, fs.Count == 0 ? 1 : Math.Ceiling(fs.Max() * 10) / 10);
        double lx = Math.Log10(Math.Max(totalEdges, 10));
        double X(int edges) => L + Math.Log10(Math.Max(edges, 1)) / lx * (W - L - R);
        double Y(double f) => T + (ymax - Math.Clamp(f, ymin, ymax)) / (ymax - ymin) * (H - T - B);
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"curve\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"faithfulness curve\">\n");
        // Axes and grid.
        for (int d = 0; Math.Pow(10, d) <= Math.Max(totalEdges, 10); d++)
        {
            int e = (int)Math.Pow(10, d);
            sb.Append($"<line x1=\"{Html.C(X(e))}\" y1=\"{T}\" x2=\"{Html.C(X(e))}\" y2=\"{H - B}\" stroke=\"#f3f4f6\"/><text x=\"{Html.C(X(e))}\" y=\"{H - B + 14}\" text-anchor=\"middle\">{Html.I(e)}</text>\n");
        }
        for (double f = Math.Ceiling(ymin * 2) / 2; f <= ymax + 1e-9; f += 0.5)
        {
            string stroke = Math.Abs(f) < 1e-9 || Math.Abs(f - 1) < 1e-9 ? "#9ca3af" : "#f3f4f6";
            sb.Append($"<line x1=\"{L}\" y1=\"{Html.C(Y(f))}\" x2=\"{W - R}\" y2=\"{Html.C(Y(f))}\" stroke=\"{stroke}\"/><text x=\"{L - 6}\" y=\"{Html.C(Y(f) + 4)}\" text-anchor=\"end\">{Html.F(f)}</text>\n");
        }
        sb.Append($"<text x=\"{Html.C((L + W - R) / 2)}\" y=\"{H - 8}\" text-anchor=\"middle\">edges kept (log scale; {Html.I(totalEdges)} in the graph)</text>\n");
        sb.Append($"<text x=\"14\" y=\"{Html.C((T + H - B) / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {Html.C((T + H - B) / 2)})\">faithfulness f</text>\n");
        foreach (var s in series)
        {
            var pts = s.Points.Where(p => double.IsFinite(p.F)).Select(p => (x: X(p.Edges), y: Y(p.F), p)).ToList();
            if (pts.Count == 0) continue;
            string line = string.Join(" ", pts.Select(p => $"{Html.C(p.x)},{Html.C(p.y)}"));
            double baseY = s.ShadeToOne ? Y(1) : Y(0);
            if (!s.Dashed)
                sb.Append($"<polygon data-area=\"{s.Key}\" points=\"{Html.C(pts[0].x)},{Html.C(baseY)} {line} {Html.C(pts[^1].x)},{Html.C(baseY)}\" fill=\"{s.Color}\" fill-opacity=\"0.12\" stroke=\"none\"/>\n");
            sb.Append($"<polyline data-series=\"{s.Key}\" points=\"{line}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>\n");
            foreach (var (x, y, p) in pts)
                sb.Append($"<circle cx=\"{Html.C(x)}\" cy=\"{Html.C(y)}\" r=\"3.5\" fill=\"{s.Color}\" data-tip=\"{Html.E($"{s.Label}: {Html.I(p.Edges)} edges kept (requested {Html.G(p.Percent)}% of the graph), f = {Html.G(p.F)}")}\"/>\n");
        }
        foreach (var m in marks.Where(m => double.IsFinite(m.F)))
        {
            double x = X(m.Edges), y = Y(m.F);
            sb.Append($"<path data-mark=\"circuit\" d=\"M{Html.C(x)} {Html.C(y - 7)}L{Html.C(x + 7)} {Html.C(y)}L{Html.C(x)} {Html.C(y + 7)}L{Html.C(x - 7)} {Html.C(y)}Z\" fill=\"{m.Color}\" stroke=\"#111827\" data-tip=\"{Html.E($"{m.Label}: {Html.I(m.Edges)} edges, f = {Html.G(m.F)}")}\"/>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }
}
