using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;

namespace MechTests.Models.Tokenizers;

/// <summary>
/// A pre-tokenizer regex matched over code points. .NET's regex engine works on UTF-16 units, so a character
/// outside the BMP (emoji, 𝐀, 𠀀) is two surrogates whose category is "Cs": <c>\p{L}</c> would not match the
/// letter 𝐀 and the pieces would differ from Python's <c>regex</c> or Rust's onig (what Hugging Face uses).
/// When the text has surrogate pairs each pair is matched through a one-unit stand-in of the same Unicode
/// category, and the match positions are mapped back.
/// </summary>
internal sealed partial class CodePointRegex
{
    /// <summary>GPT-2's pre-tokenization pattern (also Hugging Face ByteLevel's default).</summary>
    public const string Gpt2Pattern =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Gpt2Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex Gpt2Regex();

    private static readonly ConcurrentDictionary<string, CodePointRegex> s_cache = new(StringComparer.Ordinal);

    /// <summary>The GPT-2 pattern, compiled at build time.</summary>
    public static CodePointRegex Gpt2 { get; } = new(Gpt2Regex());

    /// <summary>The compiled regex.</summary>
    public Regex Regex { get; }

    private CodePointRegex(Regex regex) => Regex = regex;

    /// <summary>Returns the (cached, compiled) regex for <paramref name="pattern"/>.</summary>
    /// <exception cref="ArgumentException">The pattern is not valid .NET regex syntax.</exception>
    public static CodePointRegex Get(string pattern)
    {
        if (pattern == Gpt2Pattern) return Gpt2;
        return s_cache.GetOrAdd(pattern, static p =>
            new CodePointRegex(new Regex(p, RegexOptions.Compiled | RegexOptions.CultureInvariant)));
    }

    /// <summary>Appends (start, length) of every match in <paramref name="text"/>, in UTF-16 units of the input.</summary>
    public void Matches(ReadOnlySpan<char> text, List<(int Start, int Length)> output)
    {
        if (text.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (ValueMatch m in Regex.EnumerateMatches(text)) output.Add((m.Index, m.Length));
            return;
        }

        // One unit per code point; origin[k] is where unit k came from (origin[count] = end of text).
        var mapped = new char[text.Length];
        var origin = new int[text.Length + 1];
        int count = 0;
        for (int i = 0; i < text.Length; count++)
        {
            origin[count] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                int codePoint = char.ConvertToUtf32(text[i], text[i + 1]);
                mapped[count] = StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(codePoint)];
                i += 2;
            }
            else
            {
                mapped[count] = text[i]; // includes lone surrogates, which stay "Cs" like in other engines
                i++;
            }
        }
        origin[count] = text.Length;
        foreach (ValueMatch m in Regex.EnumerateMatches(mapped.AsSpan(0, count)))
        {
            int start = origin[m.Index];
            output.Add((start, origin[m.Index + m.Length] - start));
        }
    }

    // For each Unicode category, a BMP character of that category. Chosen above Latin-1 and away from characters
    // that case-fold to ASCII or that .NET's \w treats specially, so literals in patterns cannot match them.
    private static readonly char[] StandIns = BuildStandIns();

    private static char[] BuildStandIns()
    {
        var standIns = new char[32];
        var found = new bool[32];
        for (int c = 0x100; c <= 0xFFFF; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF or 0x130 or 0x131 or 0x17F or 0x200C or 0x200D or 0x212A or 0x212B) continue;
            int cat = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (!found[cat]) { found[cat] = true; standIns[cat] = (char)c; }
        }
        for (int cat = 0; cat < standIns.Length; cat++)
            if (!found[cat]) standIns[cat] = '\uE000'; // no BMP character of that category: treat as private use
        return standIns;
    }
}
