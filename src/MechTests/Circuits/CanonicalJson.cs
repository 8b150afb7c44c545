using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace MechTests.Circuits;

/// <summary>
/// The canonical JSON layout of circuit files, chosen so that the same content always gives the same bytes and a
/// changed circuit gives a small, readable diff: object keys sorted (ordinal), 2-space indentation, every array
/// element on its own line in compact single-line form (one edge per line), LF line endings with a final newline,
/// invariant culture, numbers rounded to <see cref="SignificantDigits"/> significant digits half to even (integers below 10^15
/// exactly), non-finite numbers written as <c>null</c>, strings escaped minimally (no <c>\u003C</c> for &lt;).
/// </summary>
/// <example><code>
/// string text = CanonicalJson.Write(new JsonObject { ["b"] = 1.0 / 3, ["a"] = new JsonArray(1, 2) });
/// // {
/// //   "a": [
/// //     1,
/// //     2
/// //   ],
/// //   "b": 0.333333
/// // }
/// </code></example>
public static class CanonicalJson
{
    /// <summary>Significant digits kept for non-integer numbers.</summary>
    public const int SignificantDigits = 6;

    /// <summary>The canonical text of a JSON tree (LF line endings, final newline).</summary>
    public static string Write(JsonNode? root)
    {
        var sb = new StringBuilder();
        Block(sb, root, 0);
        sb.Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// The canonical text of a number: integers below 10^15 exactly; others rounded to <see cref="SignificantDigits"/>
    /// significant digits, half to even on the double's exact decimal value, then written in the shortest form that
    /// reads back as that rounded value (<c>0.333333</c>, <c>1.5E-07</c>); −0 as <c>0</c>; NaN and ±∞ as <c>null</c>.
    /// </summary>
    /// <remarks>
    /// The rounding depends only on the double, never on culture or platform formatting defaults, so the same value
    /// always gives the same text. Six digits keep rounding (≤ 5e-6 relative) far inside the default tolerances.
    /// </remarks>
    /// <example><code>
    /// CanonicalJson.Number(1.0 / 3);      // "0.333333"
    /// CanonicalJson.Number(123456.5);     // "123456" (a tie: half to even)
    /// CanonicalJson.Number(123457.5);     // "123458"
    /// CanonicalJson.Number(-0.0);         // "0"
    /// </code></example>
    public static string Number(double x)
    {
        if (!double.IsFinite(x)) return "null";
        if (x == 0) return "0";
        if (x == Math.Floor(x) && Math.Abs(x) < 1e15) return x.ToString("R", CultureInfo.InvariantCulture);
        return RoundHalfEven(x, SignificantDigits).ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// <paramref name="x"/> rounded to <paramref name="digits"/> significant digits, ties to even, decided on its exact
    /// decimal expansion. 24 significant digits of it are enough: neighbouring doubles are at least ~1e-16 apart
    /// (relative), so a double that is not exactly a tie shows a non-zero digit after the 5 within them.
    /// </summary>
    private static double RoundHalfEven(double x, int digits)
    {
        // "E23": d.ddd…(23 digits)E±xxx, correctly rounded from the exact value (.NET Core 3.0+ formatting is exact).
        string e = Math.Abs(x).ToString("E23", CultureInfo.InvariantCulture);
        int ePos = e.IndexOf('E');
        string mantissa = e[..ePos].Replace(".", "", StringComparison.Ordinal);
        int exponent = int.Parse(e.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var kept = mantissa[..digits].ToCharArray();
        char next = mantissa[digits];
        bool restZero = mantissa.AsSpan(digits + 1).IndexOfAnyExcept('0') < 0;
        bool up = next > '5' || (next == '5' && (!restZero || (kept[^1] - '0') % 2 == 1));
        if (up)
        {
            int i = digits - 1;
            while (i >= 0 && kept[i] == '9') kept[i--] = '0';
            if (i >= 0) kept[i]++;
            else { kept = ['1', .. kept[..^1]]; exponent++; }
        }
        string text = $"{kept[0]}.{new string(kept, 1, digits - 1)}E{exponent.ToString(CultureInfo.InvariantCulture)}";
        double value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return x < 0 ? -value : value;
    }

    /// <summary>A number as the canonical writer will store it (so in-memory values can be compared with read-back ones).</summary>
    public static double Round(double x) => double.IsFinite(x) ? double.Parse(Number(x), CultureInfo.InvariantCulture) : x;

    /// <summary>A JSON string literal: quotes, backslashes and control characters escaped; everything else literal (UTF-8).</summary>
    public static string String(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static void Block(StringBuilder sb, JsonNode? node, int indent)
    {
        switch (node)
        {
            case JsonObject o when o.Count > 0:
                sb.Append("{\n");
                bool first = true;
                foreach (var (k, v) in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    if (!first) sb.Append(",\n");
                    first = false;
                    sb.Append(' ', indent + 2).Append(String(k)).Append(": ");
                    Block(sb, v, indent + 2);
                }
                sb.Append('\n').Append(' ', indent).Append('}');
                break;
            case JsonArray a when a.Count > 0:
                sb.Append("[\n");
                for (int i = 0; i < a.Count; i++)
                {
                    if (i > 0) sb.Append(",\n");
                    sb.Append(' ', indent + 2);
                    Compact(sb, a[i]);
                }
                sb.Append('\n').Append(' ', indent).Append(']');
                break;
            default:
                Compact(sb, node);
                break;
        }
    }

    private static void Compact(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null: sb.Append("null"); break;
            case JsonObject o:
                sb.Append('{');
                bool first = true;
                foreach (var (k, v) in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    sb.Append(String(k)).Append(": ");
                    Compact(sb, v);
                }
                sb.Append('}');
                break;
            case JsonArray a:
                sb.Append('[');
                for (int i = 0; i < a.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Compact(sb, a[i]);
                }
                sb.Append(']');
                break;
            case JsonValue v: Scalar(sb, v); break;
        }
    }

    private static void Scalar(StringBuilder sb, JsonValue v)
    {
        if (v.TryGetValue<string>(out var s)) sb.Append(String(s));
        else if (v.TryGetValue<bool>(out bool b)) sb.Append(b ? "true" : "false");
        else if (v.TryGetValue<double>(out double d)) sb.Append(Number(d));
        else if (v.TryGetValue<int>(out int i)) sb.Append(i.ToString(CultureInfo.InvariantCulture));
        else if (v.TryGetValue<long>(out long l)) sb.Append(Number(l));
        else if (v.TryGetValue<float>(out float f)) sb.Append(Number(f));
        else throw new ArgumentException($"Cannot write the JSON value {v.ToJsonString()} canonically; use strings, booleans and numbers (double/int/long).");
    }
}
