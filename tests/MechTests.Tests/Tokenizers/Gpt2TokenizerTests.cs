using System.Diagnostics;
using MechTests.Models.Tokenizers;
using Xunit;

namespace MechTests.Tests.Tokenizers;

public class Gpt2TokenizerTests
{
    internal static readonly Lazy<ByteLevelBpeTokenizer> Gpt2 = new(() => ByteLevelBpeTokenizer.FromVocabAndMerges(
        TestPaths.Models("gpt2-tokenizer/encoder.json"), TestPaths.Models("gpt2-tokenizer/vocab.bpe")));

    private static ByteLevelBpeTokenizer Tok => Gpt2.Value;

    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < TokenizerFixtures.Gpt2.Value.Count; i++) data.Add(i);
        return data;
    }

    [Fact]
    public void Vocabulary_has_gpt2_shape()
    {
        Assert.Equal(50257, Tok.VocabSize);
        Assert.Equal(50000, Tok.MergeCount);
        Assert.Equal(50256, Tok.BosId);
        Assert.Equal(50256, Tok.EosId);
        Assert.False(Tok.AddsBosByDefault);
        Assert.False(Tok.AddPrefixSpace);
    }

    [Fact]
    public void Known_ids()
    {
        Assert.Equal([15496], Tok.Encode("Hello", addBos: false));
        Assert.Equal([995], Tok.Encode(" world", addBos: false));
        Assert.Equal([15496, 995], Tok.Encode("Hello world", addBos: false));
        Assert.Equal([50256], Tok.Encode("<|endoftext|>", addBos: false));
        Assert.Equal(15496, Tok.TokenId("Hello"));
        Assert.Equal(995, Tok.TokenId("Ġworld"));
        Assert.Equal(50256, Tok.TokenId("<|endoftext|>"));
        Assert.Equal("Ġworld", Tok.TokenString(995));
        Assert.Null(Tok.TokenId("definitely-not-a-token"));
    }

    [Fact]
    public void Add_bos_prepends_endoftext()
    {
        Assert.Equal([50256, 15496, 995], Tok.Encode("Hello world", addBos: true));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Matches_independent_python_reference(int index)
    {
        var c = TokenizerFixtures.Gpt2.Value[index];
        Assert.True(c.Ids.SequenceEqual(Tok.Encode(c.Text, addBos: false)),
            $"{TokenizerFixtures.Show(c.Text)}: expected [{string.Join(", ", c.Ids)}], got [{string.Join(", ", Tok.Encode(c.Text, false))}]");
    }

    [Fact]
    public void Fixture_is_large_and_diverse()
    {
        var cases = TokenizerFixtures.Gpt2.Value;
        Assert.True(cases.Count >= 50);
        Assert.Contains(cases, c => c.Text.Contains("<|endoftext|>"));
        Assert.Contains(cases, c => c.Text.Any(char.IsSurrogate));
        Assert.Contains(cases, c => c.Text.Contains('\n'));
        Assert.Contains(cases, c => c.Text.Contains("'ll"));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Decode_round_trips(int index)
    {
        string text = TokenizerFixtures.Gpt2.Value[index].Text;
        // Decode skips <|endoftext|>, so compare against the text without it.
        Assert.Equal(text.Replace("<|endoftext|>", ""), Tok.Decode(Tok.Encode(text, addBos: false)));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Streaming_decode_reassembles_the_text(int index)
    {
        string text = TokenizerFixtures.Gpt2.Value[index].Text;
        int[] ids = Tok.Encode(text, addBos: true);
        var stream = new TokenStreamDecoder(Tok);
        string streamed = string.Concat(ids.Select(stream.Push)) + stream.Flush();
        Assert.Equal(Tok.Decode(ids), streamed);
    }

    [Fact]
    public void Decode_token_completes_characters_split_over_two_tokens()
    {
        // "👋🌍" is [41840, 233, 8582, 234, 235]: 👋 = F0 9F 91 8B is split 3 + 1 bytes.
        int[] ids = Tok.Encode("👋🌍", addBos: false);
        Assert.Equal([41840, 233, 8582, 234, 235], ids);
        Assert.Equal("", Tok.DecodeToken(41840));
        Assert.Equal("👋", Tok.DecodeToken(233, previous: 41840));
        Assert.Equal(" world", Tok.DecodeToken(995, previous: 15496));
        Assert.Equal("Hello", Tok.DecodeToken(15496));
        Assert.Equal("", Tok.DecodeToken(50256));
    }

    [Fact]
    public void Decode_skips_special_and_undefined_ids()
    {
        Assert.Equal("Hello world", Tok.Decode([50256, 15496, 50256, 995]));
        Assert.Equal("Hello", Tok.Decode([15496, 50300])); // a padded embedding row (e.g. 50304) has no text
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([-1]));
    }

    [Fact]
    public void Continuation_matches_in_context_ids()
    {
        int[] context = Tok.Encode("The capital of France is", addBos: false);
        int[] full = Tok.Encode("The capital of France is Paris", addBos: false);
        int[] answer = Tok.EncodeContinuation(" Paris");
        Assert.Equal(full, context.Concat(answer).ToArray());
        Assert.Equal([6342], answer);
        Assert.Empty(Tok.EncodeContinuation(""));
    }

    [Fact]
    public void Cached_and_uncached_encodings_agree_and_long_words_use_the_queue_path()
    {
        string word = string.Concat(Enumerable.Repeat("abracadabra", 20)); // 220 symbols > SmallWordLimit
        int[] first = Tok.Encode(word, addBos: false);
        int[] second = Tok.Encode(word, addBos: false);
        Assert.Equal(first, second);
        Assert.Equal(word, Tok.Decode(first));
    }

    [Fact]
    public void Encodes_thousands_of_prompts_quickly()
    {
        string[] prompts = Enumerable.Range(0, 3000)
            .Select(i => $"When Mary and John went to the store number {i}, John gave a drink to").ToArray();
        Tok.Encode(prompts[0], addBos: false); // warm up
        var sw = Stopwatch.StartNew();
        int total = 0;
        foreach (string p in prompts) total += Tok.Encode(p, addBos: false).Length;
        sw.Stop();
        Assert.True(total > 3000 * 10);
        // A hang guard (quadratic work or a lock held per prompt), not a speed target; see Very_long_input_is_not_quadratic.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"3000 prompts took {sw.Elapsed}");
    }

    [Fact]
    public void Very_long_input_is_not_quadratic()
    {
        string text = string.Concat(Enumerable.Repeat("x", 100_000)); // one 100k-character pre-token
        Tok.Encode("warm up", addBos: false); // loading the vocabulary and merges is not what is measured
        var sw = Stopwatch.StartNew();
        int[] ids = Tok.Encode(text, addBos: false);
        sw.Stop();
        Assert.Equal(text, Tok.Decode(ids));
        // A hang guard, not a speed target: quadratic merging of one 100k-character pre-token takes many minutes.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Is_thread_safe()
    {
        var cases = TokenizerFixtures.Gpt2.Value;
        Parallel.For(0, 2000, i =>
        {
            var c = cases[i % cases.Count];
            Assert.Equal(c.Ids, Tok.Encode(c.Text, addBos: false));
        });
    }
}
