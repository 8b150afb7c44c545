using System.Text;

namespace MechTests.Reports;

/// <summary>
/// AtP* against activation patching, one point per node: x = |AtP* score|, y = |patching effect| — the absolute
/// values the agreement statistics rank — with the line y = x (both are in units of the task metric). Nodes in the
/// circuit are filled, the others hollow; the true top-k (by |effect|) carry a ring.
/// </summary>
internal static class ScatterSvg
{
    private const double W = 420, H = 360, L = 56, R = 16, T = 16, B = 44;

    public static string Render(IReadOnlyList<(string Name, double Score, double Effect, bool InCircuit, bool TrueTop)> points, string tipConventions)
    {
        double max = points.Select(p => Math.Max(Math.Abs(p.Score), Math.Abs(p.Effect))).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        if (!(max > 0)) max = 1;
        max *= 1.05;
        double X(double v) => L + Math.Abs(v) / max * (W - L - R);
        double Y(double v) => H - B - Math.Abs(v) / max * (H - T - B);
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"scatter\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"AtP* against activation patching\">\n");
        sb.Append($"<rect x=\"{L}\" y=\"{T}\" width=\"{W - L - R}\" height=\"{H - T - B}\" fill=\"none\" stroke=\"#d1d5db\"/>\n");
        sb.Append($"<line x1=\"{Html.C(X(0))}\" y1=\"{Html.C(Y(0))}\" x2=\"{Html.C(X(max))}\" y2=\"{Html.C(Y(max))}\" stroke=\"#9ca3af\" stroke-dasharray=\"4 3\"/>\n");
        for (int i = 0; i <= 4; i++)
        {
            double v = max * i / 4;
            sb.Append($"<text x=\"{Html.C(X(v))}\" y=\"{H - B + 14}\" text-anchor=\"middle\">{Html.F(v)}</text><text x=\"{L - 6}\" y=\"{Html.C(Y(v) + 4)}\" text-anchor=\"end\">{Html.F(v)}</text>\n");
        }
        sb.Append($"<text x=\"{Html.C((L + W - R) / 2)}\" y=\"{H - 8}\" text-anchor=\"middle\">|AtP* score|</text>\n");
        sb.Append($"<text x=\"14\" y=\"{Html.C((T + H - B) / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {Html.C((T + H - B) / 2)})\">|activation patching effect|</text>\n");
        foreach (var p in points)
        {
            string tip = $"{p.Name}\nAtP* {Html.G(p.Score)}, patching effect {Html.G(p.Effect)}{(p.InCircuit ? "\nin the circuit" : "")}{(p.TrueTop ? "\ntrue top-k by |effect|" : "")}\n{tipConventions}";
            if (p.TrueTop) sb.Append($"<text x=\"{Html.C(X(p.Score) + 8)}\" y=\"{Html.C(Y(p.Effect) + 4)}\" class=\"point-label\">{Html.E(p.Name)}</text>");
            sb.Append($"<circle data-point=\"{Html.E(p.Name)}\" cx=\"{Html.C(X(p.Score))}\" cy=\"{Html.C(Y(p.Effect))}\" r=\"{(p.TrueTop ? 6 : 4)}\" fill=\"{(p.InCircuit ? "#2563eb" : "#fff")}\" stroke=\"{(p.TrueTop ? "#111827" : "#2563eb")}\" stroke-width=\"{(p.TrueTop ? "2" : "1.2")}\" data-tip=\"{Html.E(tip)}\"/>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }
}
