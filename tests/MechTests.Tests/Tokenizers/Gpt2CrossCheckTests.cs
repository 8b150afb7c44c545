using System.Text;
using Microsoft.ML.Tokenizers;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Tests.Tokenizers;

/// <summary>
/// Our byte-level BPE reader (encoder.json + vocab.bpe) against an independent GPT-2 implementation,
/// Microsoft.ML.Tokenizers' tiktoken tokenizer with its own gpt2 data (the same 50,257 ids), on 10,000 generated
/// strings that mix Unicode letters (non-BMP too), whitespace runs, digits, contractions, punctuation and emoji.
/// </summary>
public class Gpt2CrossCheckTests(ITestOutputHelper output)
{
    private static readonly string[] Pieces =
    [
        "Hello", "world", "the", "The", "once", "upon", "a", "time", "Lily", "Timmy",
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "don't", "I'm", "we've", "it's",
        "0", "7", "42", "1234567", "3.14", "1,000", "2026-12-05",
        " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000",
        "!", "?", "...", ",", ".", "—", "–", "\"", "«»", "(x)", "#", "@", "$5", "%", "&&", "::", "->", "<|", "|>",
        "café", "naïve", "Straße", "ÆØÅ", "Привет", "мир", "Ελληνικά", "שלום", "مرحبا", "हिन्दी", "ไทย",
        "日本語", "中文", "한국어", "ｆｕｌｌｗｉｄｔｈ", "e\u0301", "ﬁ", "Ⅻ", "½", "²", "٣", "๓",
        "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🧪", "\U0001D400\U0001D401", "\U00010348", "\U0002070E", "𝔘𝔫𝔦",
        "\u200b", "\ufeff", "\u0000", "\u007f", "\ud7ff", "\ue000",
    ];

    /// <summary>Deterministic corpus: 10,000 strings of 1–12 pieces joined with nothing or one random separator.</summary>
    internal static List<string> Corpus(int count = 10_000, int seed = 20261205)
    {
        var rng = new Random(seed);
        string[] joins = ["", " ", "", "  ", "\n", ""];
        var corpus = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            int n = rng.Next(1, 13);
            for (int j = 0; j < n; j++)
            {
                if (j > 0) sb.Append(joins[rng.Next(joins.Length)]);
                // One in five pieces is a random code point from the whole Unicode range (surrogates excluded).
                if (rng.Next(5) == 0)
                {
                    int cp;
                    do cp = rng.Next(rng.Next(3) == 0 ? 0x20000 : 0x3000); while (cp is >= 0xD800 and <= 0xDFFF);
                    sb.Append(char.ConvertFromUtf32(cp));
                }
                else sb.Append(Pieces[rng.Next(Pieces.Length)]);
            }
            corpus.Add(sb.ToString());
        }
        return corpus;
    }

    private static readonly string[] Contractions = ["s", "t", "re", "ve", "m", "ll", "d"];

    private enum Kind { Letter, Number, Space, Other }

    private static Kind KindOf(Rune r) => Rune.IsLetter(r) ? Kind.Letter : Rune.IsNumber(r) ? Kind.Number : Rune.IsWhiteSpace(r) ? Kind.Space : Kind.Other;

    /// <summary>
    /// GPT-2's pre-tokenizer written out on code points, independently of both tokenizers under test:
    /// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>, first alternative that
    /// matches at each position. Microsoft.ML.Tokenizers runs this pattern with .NET's Regex, which matches UTF-16 code
    /// units: a surrogate is neither <c>\p{L}</c> nor <c>\p{N}</c>, so letters and digits outside the BMP (𝔘, 𐍈, 𠜎)
    /// count as punctuation there ("𝔘𝔫𝔦've" → "𝔘𝔫𝔦'", "ve"; GPT-2: "𝔘𝔫𝔦", "'ve").
    /// </summary>
    internal static List<string> Gpt2PreTokens(string text)
    {
        var runes = text.EnumerateRunes().ToArray();
        var tokens = new List<string>();
        int n = runes.Length, i = 0;
        string Take(int from, int to) => string.Concat(runes[from..to].Select(r => r.ToString()));
        while (i < n)
        {
            if (runes[i].Value == '\'')
            {
                string? c = Contractions.FirstOrDefault(c => i + c.Length < n + 1 && Take(i + 1, Math.Min(n, i + 1 + c.Length)) == c);
                if (c != null) { tokens.Add(Take(i, i + 1 + c.Length)); i += 1 + c.Length; continue; }
            }
            int start = i, j = i;
            if (runes[j].Value == ' ' && j + 1 < n && KindOf(runes[j + 1]) != Kind.Space) j++;
            var kind = KindOf(runes[j]);
            if (kind != Kind.Space)
            {
                while (j < n && KindOf(runes[j]) == kind) j++;
                tokens.Add(Take(start, j));
                i = j;
                continue;
            }
            int k = i;
            while (k < n && KindOf(runes[k]) == Kind.Space) k++;
            // \s+(?!\S): the run up to its end, or all but its last space when a non-space follows; else \s+ (one space).
            int end = k == n ? n : k - i >= 2 ? k - 1 : k;
            tokens.Add(Take(i, end));
            i = end;
        }
        return tokens;
    }

    [Fact]
    public void Ours_and_Microsoft_ML_Tokenizers_agree_on_10000_generated_strings()
    {
        var ours = Gpt2TokenizerTests.Gpt2.Value;
        var theirs = TiktokenTokenizer.CreateForModel("gpt2");
        var corpus = Corpus();
        int tokens = 0, sameAsLibrary = 0;
        var disagreements = new List<string>();
        foreach (var text in corpus)
        {
            int[] a = ours.Encode(text, addBos: false);
            tokens += a.Length;
            if (a.AsSpan().SequenceEqual([.. theirs.EncodeToIds(text)])) sameAsLibrary++;
            else Assert.Contains(text.EnumerateRunes(), r => r.Value > 0xFFFF && KindOf(r) is Kind.Letter or Kind.Number);
            // The library's byte-level BPE on GPT-2's own pre-tokens (see Gpt2PreTokens) must give exactly our ids.
            int[] b = [.. Gpt2PreTokens(text).SelectMany(t => theirs.EncodeToIds(t, considerPreTokenization: false, considerNormalization: false))];
            if (!a.AsSpan().SequenceEqual(b))
                disagreements.Add($"{TokenizerFixtures.Show(text)}: ours [{string.Join(',', a)}], Microsoft.ML.Tokenizers [{string.Join(',', b)}]");
        }
        output.WriteLine($"{corpus.Count} strings, {tokens} tokens (ours): {corpus.Count - disagreements.Count} agree with the library's BPE on "
            + $"GPT-2's pre-tokens; {sameAsLibrary} also with the library's own pre-tokenizer (it differs only around letters/digits outside the BMP)");
        Assert.True(disagreements.Count == 0, $"{disagreements.Count} of {corpus.Count} strings tokenized differently:\n" + string.Join('\n', disagreements.Take(20)));
        // The library's deviation is real and rare; if it is fixed upstream this drops to 0 and the doc comment can go.
        Assert.InRange(corpus.Count - sameAsLibrary, 1, corpus.Count / 20);
    }

    [Fact]
    public void A_contraction_after_a_non_BMP_letter_is_its_own_token_as_GPT2s_pattern_says()
    {
        var ours = Gpt2TokenizerTests.Gpt2.Value;
        // "𝔘𝔫𝔦" (Fraktur letters, \p{L}) then "'ve" = 1053 (GPT-2's token for 've).
        int[] ids = ours.Encode("\U0001D518\U0001D52B\U0001D526've", addBos: false);
        Assert.Equal(1053, ids[^1]);
        Assert.Equal(ours.Encode("\U0001D518\U0001D52B\U0001D526", addBos: false), ids[..^1]);
        Assert.Equal(["Hello", " world", "'s", " 42", "!'", "s", "  ", " \U0001D518\U0001D52B", "'ve", "\n", "x", "  "], Gpt2PreTokens("Hello world's 42!'s   \U0001D518\U0001D52B've\nx  "));
    }

    [Fact]
    public void The_corpus_holds_what_it_claims()
    {
        var corpus = Corpus();
        Assert.Equal(10_000, corpus.Count);
        Assert.True(corpus.Distinct().Count() >= 9_000);
        Assert.Contains(corpus, s => s.EnumerateRunes().Any(r => r.Value > 0xFFFF && Rune.GetUnicodeCategory(r) is System.Globalization.UnicodeCategory.UppercaseLetter or System.Globalization.UnicodeCategory.LowercaseLetter or System.Globalization.UnicodeCategory.OtherLetter));
        Assert.Contains(corpus, s => s.Contains("   ", StringComparison.Ordinal));
        Assert.Contains(corpus, s => s.Contains("'ll", StringComparison.Ordinal));
        Assert.Contains(corpus, s => s.Contains("👍🏽", StringComparison.Ordinal));
        Assert.Contains(corpus, s => s.Any(char.IsAsciiDigit));
    }
}
