using System.Text;

namespace MechTests.Models.Tokenizers;

/// <summary>
/// Unicode NFC and NFD that do not depend on the host: with InvariantGlobalization (as in this repository's builds)
/// <see cref="string.Normalize()"/> returns its input unchanged, which would silently break tokenizers whose
/// <c>tokenizer.json</c> starts with an NFC normalizer (GPT-NeoX / Pythia). Canonical decomposition, combining-class
/// ordering and canonical composition (UAX #15) run on tables generated from Unicode data
/// (<see cref="DataVersion"/>). NFKC/NFKD need compatibility data and use the runtime, when it has it.
/// </summary>
internal static partial class UnicodeNormalization
{
    private const int Excluded = 0x40000000;
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Dictionary<int, (int First, int Second)> s_decompose = new();
    private static readonly Dictionary<long, int> s_compose = new();

    static UnicodeNormalization()
    {
        ReadOnlySpan<int> d = DecompositionData;
        for (int i = 0; i < d.Length; i += 3)
        {
            int cp = d[i] & ~Excluded;
            s_decompose[cp] = (d[i + 1], d[i + 2]);
            if ((d[i] & Excluded) == 0 && d[i + 2] >= 0) s_compose[Pair(d[i + 1], d[i + 2])] = cp;
        }
    }

    /// <summary>Whether the runtime's own normalization works (it does not in invariant-globalization mode).</summary>
    internal static bool RuntimeSupportsNormalization { get; } = Probe();

    private static bool Probe()
    {
        try
        {
            return "e\u0301".Normalize(NormalizationForm.FormC) == "\u00E9";
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="form"/> can be applied in this process.</summary>
    public static bool IsSupported(NormalizationForm form) =>
        form is NormalizationForm.FormC or NormalizationForm.FormD || RuntimeSupportsNormalization;

    /// <summary>Normalizes <paramref name="text"/> to <paramref name="form"/>.</summary>
    /// <exception cref="NotSupportedException">NFKC/NFKD on a runtime without normalization data.</exception>
    public static string Normalize(string text, NormalizationForm form)
    {
        switch (form)
        {
            case NormalizationForm.FormC:
                return IsBelow(text, (char)0x300) ? text : Compose(Decompose(text));
            case NormalizationForm.FormD:
                return IsBelow(text, (char)0xC0) ? text : ToString(Decompose(text));
            default:
                if (!RuntimeSupportsNormalization)
                    throw new NotSupportedException($"Unicode {form} needs the runtime's normalization data, which "
                        + "invariant-globalization mode does not have.");
                return text.Normalize(form);
        }
    }

    // No character below U+0300 changes under NFC (none decomposes into a non-composing sequence, none combines),
    // and none below U+00C0 changes under NFD: the common ASCII case costs one scan.
    private static bool IsBelow(string text, char limit)
    {
        foreach (char c in text) if (c >= limit) return false;
        return true;
    }

    private static long Pair(int first, int second) => ((long)first << 21) | (uint)second;

    /// <summary>Canonical combining class of a code point (0 for starters).</summary>
    internal static int CombiningClass(int cp)
    {
        if (cp < 0x300) return 0;
        ReadOnlySpan<int> r = CombiningClassData;
        int lo = 0, hi = r.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < r[mid * 3]) hi = mid - 1;
            else if (cp > r[mid * 3 + 1]) lo = mid + 1;
            else return r[mid * 3 + 2];
        }
        return 0;
    }

    /// <summary>NFD as code points: full canonical decomposition, then stable ordering by combining class.</summary>
    private static List<int> Decompose(string text)
    {
        var result = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32(text[i], text[++i]);
            DecomposeInto(cp, result);
        }
        // Canonical ordering: within each run of non-starters, a stable sort by combining class.
        for (int i = 1; i < result.Count; i++)
        {
            int cc = CombiningClass(result[i]);
            if (cc == 0) continue;
            int j = i;
            while (j > 0 && CombiningClass(result[j - 1]) > cc)
            {
                (result[j - 1], result[j]) = (result[j], result[j - 1]);
                j--;
            }
        }
        return result;
    }

    private static void DecomposeInto(int cp, List<int> output)
    {
        int s = cp - SBase;
        if (s >= 0 && s < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (s_decompose.TryGetValue(cp, out var parts))
        {
            DecomposeInto(parts.First, output);
            if (parts.Second >= 0) DecomposeInto(parts.Second, output);
            return;
        }
        output.Add(cp);
    }

    /// <summary>Canonical composition of an NFD sequence: each character joins the last starter unless blocked.</summary>
    private static string Compose(List<int> cps)
    {
        var result = new List<int>(cps.Count);
        int starter = -1;   // index in result of the last starter
        int lastClass = 0;  // combining class of the last character appended after it
        foreach (int cp in cps)
        {
            int cc = CombiningClass(cp);
            if (starter >= 0)
            {
                bool adjacent = starter == result.Count - 1;
                // Not blocked: nothing in between, or everything in between has a lower, non-zero class.
                if ((adjacent || (lastClass != 0 && lastClass < cc)) && TryCompose(result[starter], cp, out int composite))
                {
                    result[starter] = composite;
                    continue;
                }
            }
            if (cc == 0) starter = result.Count;
            lastClass = cc;
            result.Add(cp);
        }
        return ToString(result);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if (l >= 0 && l < LCount && v >= 0 && v < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, t = second - TBase;
        if (s >= 0 && s < SCount && s % TCount == 0 && t > 0 && t < TCount)
        {
            composite = first + t;
            return true;
        }
        return s_compose.TryGetValue(Pair(first, second), out composite);
    }

    private static string ToString(List<int> cps)
    {
        var sb = new StringBuilder(cps.Count + 4);
        foreach (int cp in cps)
        {
            if (cp >= 0x10000) sb.Append(char.ConvertFromUtf32(cp));
            else sb.Append((char)cp); // BMP, including any lone surrogate passed through unchanged
        }
        return sb.ToString();
    }
}
