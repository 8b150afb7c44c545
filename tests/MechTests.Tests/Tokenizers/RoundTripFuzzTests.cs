using System.Text;
using MechTests.Models.Tokenizers;
using Xunit;

namespace MechTests.Tests.Tokenizers;

/// <summary>Random text from a wide alphabet: nothing throws, and decoding gives the text back.</summary>
public class RoundTripFuzzTests
{
    private static readonly string[] Alphabet =
    [
        "a", "b", "Z", " ", "  ", "\t", "\n", "\r\n", "'s", "'LL", "0", "42", ".", ",", "!?", "\"", "é", "ß", "ñ",
        "e\u0301", "\u0308", "日", "本", "한", "Ω", "😀", "👨\u200d👩\u200d👧", "🇺🇸", "𝐀", "𠀀", "\u00A0", "\u3000",
        "\u2028", "\0", "\u007F", "\uFFFD", "<|endoftext|>", "<s>", "<0x41>", "\uD800", "\uDC00",
    ];

    private static IEnumerable<string> RandomTexts(int seed, int count)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            int parts = rng.Next(0, 30);
            for (int k = 0; k < parts; k++) sb.Append(Alphabet[rng.Next(Alphabet.Length)]);
            yield return sb.ToString();
        }
    }

    // What survives UTF-8: an unpaired surrogate cannot be encoded and becomes U+FFFD.
    private static string Utf8RoundTrip(string s) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void Gpt2()
    {
        var tok = Gpt2TokenizerTests.Gpt2.Value;
        foreach (string text in RandomTexts(7, 500))
        {
            int[] ids = tok.Encode(text, addBos: false);
            Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabSize - 1));
            Assert.Equal(Utf8RoundTrip(text).Replace("<|endoftext|>", ""), tok.Decode(ids));
        }
    }

    [Fact]
    public void Llama2c()
    {
        var tok = Llama2cTokenizer.Load(TestPaths.Models("stories260K/tok512.bin"));
        foreach (string text in RandomTexts(11, 500))
        {
            int[] ids = tok.Encode(text, addBos: true);
            Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabSize - 1));
            Assert.Equal(Utf8RoundTrip(text), tok.Decode(ids));
            var stream = new TokenStreamDecoder(tok);
            Assert.Equal(tok.Decode(ids), string.Concat(ids.Select(stream.Push)) + stream.Flush());
        }
    }
}
