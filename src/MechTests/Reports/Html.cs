using System.Globalization;
using System.Net;
using System.Text;

namespace MechTests.Reports;

/// <summary>
/// Small helpers for writing report HTML/SVG by hand: escaping, invariant numbers with fixed precision (so the bytes
/// never depend on the machine's locale or on shortest-round-trip quirks), and the page shell with its inline style
/// and script. Nothing is loaded from the network: no fonts, scripts, styles or images.
/// </summary>
internal static class Html
{
    /// <summary>HTML/XML-escaped text (also safe inside double-quoted attributes).</summary>
    public static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>A coordinate: one decimal, invariant.</summary>
    public static string C(double x) => (Math.Round(x, 1) + 0.0).ToString("0.#", CultureInfo.InvariantCulture);

    /// <summary>A measured value as the circuit file prints it: 6 significant digits, invariant.</summary>
    public static string G(double x) => double.IsNaN(x) ? "NaN" : x.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>A figure for tables and captions: 4 significant digits.</summary>
    public static string F(double x) => double.IsNaN(x) ? "NaN" : x.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>Integer text.</summary>
    public static string I(int x) => x.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A diverging colour for <paramref name="v"/> in [−1, 1]: white at 0, blue for positive, red for negative
    /// (the same convention as the edges).
    /// </summary>
    public static string Diverging(double v)
    {
        if (double.IsNaN(v)) return "#e5e7eb";
        v = Math.Clamp(v, -1, 1);
        var (r, g, b) = v >= 0 ? (37, 99, 235) : (220, 38, 38);
        double t = Math.Abs(v) * 0.85;
        static int Mix(int c, double t) => (int)Math.Round(255 + (c - 255) * t);
        return $"#{Mix(r, t):x2}{Mix(g, t):x2}{Mix(b, t):x2}";
    }

    /// <summary>The page: title, inline style, body, inline script (tooltips and highlight). LF line endings.</summary>
    public static string Page(string title, string body)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // No network at view time: the policy forbids every fetch, so a stray reference fails loudly in the browser test.
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n");
        sb.Append("<meta name=\"generator\" content=\"MechTests\">\n");
        sb.Append("<title>").Append(E(title)).Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n");
        sb.Append(body);
        sb.Append("<div id=\"tip\" role=\"tooltip\"></div>\n<script>\n").Append(Script).Append("</script>\n</body>\n</html>\n");
        return sb.ToString().Replace("\r\n", "\n");
    }

    private const string Style = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px 24px;color:#111827;background:#fff}
        h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 6px;border-bottom:1px solid #e5e7eb}
        .sub{color:#4b5563;margin:0 0 8px}.note{color:#4b5563;font-size:12px;max-width:1000px}
        table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #e5e7eb;padding:3px 8px;text-align:left;vertical-align:top}
        th{background:#f9fafb}td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:12px}
        svg{display:block;max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#111827}
        [data-edge] .hit{stroke:transparent;fill:none;pointer-events:stroke}[data-edge] .line{fill:none;pointer-events:none}
        [data-edge].hl .line,[data-edge]:hover .line{stroke:#f59e0b!important;opacity:1!important}
        [data-node] rect{stroke:#374151;stroke-width:1}[data-node].hl rect,[data-node]:hover rect{stroke:#f59e0b;stroke-width:2.5}
        .dim{opacity:.15}.port{fill:#fff;stroke:#374151;stroke-width:.8}.port-label{font-size:8px!important;fill:#374151!important}
        .legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:22px;height:4px;vertical-align:middle;margin-right:4px}
        #tip{position:fixed;display:none;pointer-events:none;background:#111827;color:#fff;font-size:12px;padding:6px 8px;border-radius:4px;max-width:460px;white-space:pre-line;z-index:10}
        """ + "\n";

    // Tooltip from data-tip; hovering a node highlights its edges. Plain DOM code, no library.
    private const string Script = """
        (function(){
          var tip=document.getElementById('tip');
          function owner(t){while(t&&t.getAttribute&&!t.getAttribute('data-tip'))t=t.parentNode;return t&&t.getAttribute?t:null;}
          document.addEventListener('mouseover',function(ev){
            var el=owner(ev.target);if(!el){tip.style.display='none';return;}
            tip.textContent=el.getAttribute('data-tip');tip.style.display='block';
            var n=el.getAttribute('data-node');
            if(n){var es=document.querySelectorAll('[data-edge]');for(var i=0;i<es.length;i++){
              var e=es[i],p=e.getAttribute('data-from')===n||e.getAttribute('data-to')===n;e.classList.toggle('hl',p);e.classList.toggle('dim',!p);}}
          });
          document.addEventListener('mousemove',function(ev){tip.style.left=(ev.clientX+14)+'px';tip.style.top=(ev.clientY+14)+'px';});
          document.addEventListener('mouseout',function(ev){
            if(ev.relatedTarget&&owner(ev.relatedTarget))return;tip.style.display='none';
            var es=document.querySelectorAll('[data-edge]');for(var i=0;i<es.length;i++){es[i].classList.remove('hl');es[i].classList.remove('dim');}
          });
        })();
        """ + "\n";
}
