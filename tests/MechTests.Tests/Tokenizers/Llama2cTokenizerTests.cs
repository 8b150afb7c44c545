using MechTests.Models.Tokenizers;
using Xunit;

namespace MechTests.Tests.Tokenizers;

public class Llama2cTokenizerTests
{
    private static readonly Lazy<Llama2cTokenizer> Tok512 =
        new(() => Llama2cTokenizer.Load(TestPaths.Models("stories260K/tok512.bin"), 512));

    private static Llama2cTokenizer Tok => Tok512.Value;

    /// <summary>Names that are one token in tok512 when preceded by a space (checked against the reference).</summary>
    public static readonly string[] SingleTokenNames = ["Lily", "Tim", "Timmy"];

    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < TokenizerFixtures.Tok512.Value.Count; i++) data.Add(i);
        return data;
    }

    [Fact]
    public void Vocabulary_layout()
    {
        Assert.Equal(512, Tok.VocabSize);
        Assert.Equal(7, Tok.MaxTokenLength);
        Assert.Equal(1, Tok.BosId);
        Assert.Equal(2, Tok.EosId);
        Assert.True(Tok.AddsBosByDefault);
        Assert.Equal("<unk>", Tok.TokenString(0));
        Assert.Equal("\n<s>\n", Tok.TokenString(1));
        Assert.Equal("<0x00>", Tok.TokenString(3));
        Assert.Equal("<0xFF>", Tok.TokenString(258));
        Assert.Equal(410, Tok.TokenId(" "));
        Assert.Equal(317, Tok.TokenId(" Lily"));
        Assert.Null(Tok.TokenId(" Zebra"));
        Assert.Equal(512, Llama2cTokenizer.Load(TestPaths.Models("stories260K/tok512.bin")).VocabSize);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Matches_the_python_llama2c_reference(int index)
    {
        var c = TokenizerFixtures.Tok512.Value[index];
        string label = TokenizerFixtures.Show(c.Text);
        Assert.True(c.Ids.SequenceEqual(Tok.Encode(c.Text, addBos: true)), $"{label} with BOS: got [{string.Join(", ", Tok.Encode(c.Text, true))}]");
        Assert.True(c.IdsNoBos.SequenceEqual(Tok.Encode(c.Text, addBos: false)), $"{label} without BOS");
        Assert.True(c.Continuation.SequenceEqual(Tok.EncodeContinuation(c.Text)), $"{label} as continuation");
        Assert.Equal(c.Decoded, Tok.Decode(c.Ids));
    }

    [Fact]
    public void Reference_has_the_requested_prompts()
    {
        var texts = TokenizerFixtures.Tok512.Value.Select(c => c.Text).ToList();
        Assert.Contains("Once upon a time, there was a girl named Lily. One day,", texts);
        Assert.Contains("Hello world", texts);
        Assert.Contains("", texts);
        Assert.Contains(texts, t => t.Any(c => c > 0x7F));
        Assert.Contains(texts, t => t.Any(char.IsDigit));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Round_trips_with_bos(int index)
    {
        string text = TokenizerFixtures.Tok512.Value[index].Text;
        Assert.Equal(text, Tok.Decode(Tok.Encode(text, addBos: true)));
        // Without BOS the dummy-prefix space stays in the output, as in llama2.c.
        Assert.Equal(text.Length == 0 ? "" : " " + text, Tok.Decode(Tok.Encode(text, addBos: false)));
        Assert.Equal(text, Tok.Decode(Tok.EncodeContinuation(text)));
    }

    [Fact]
    public void Bos_and_dummy_prefix()
    {
        Assert.Equal([1], Tok.Encode("", addBos: true));
        Assert.Empty(Tok.Encode("", addBos: false));
        Assert.Equal([1, 410, 410], Tok.Encode(" ", addBos: true)); // dummy prefix " " + the text's own " "
        Assert.Equal([410], Tok.EncodeContinuation(" "));
    }

    [Fact]
    public void Single_token_names()
    {
        var reference = TokenizerFixtures.Tok512Names.Value;
        foreach (var n in reference)
            Assert.True(n.Ids.SequenceEqual(Tok.EncodeContinuation(" " + n.Name)), $"' {n.Name}'");
        Assert.Equal(SingleTokenNames, reference.Where(n => n.SingleToken).Select(n => n.Name).ToArray());
        foreach (string name in SingleTokenNames)
        {
            int[] ids = Tok.EncodeContinuation(" " + name);
            Assert.Single(ids);
            Assert.Equal(" " + name, Tok.TokenString(ids[0]));
            // The single token survives in context, between words and before punctuation.
            int[] inContext = Tok.Encode($"Once upon a time, there was a girl named{" " + name}. {name} and{" " + name} played.", addBos: true);
            Assert.Equal(3, inContext.Count(id => id == ids[0]));
        }
        Assert.DoesNotContain("Sue", SingleTokenNames);
        Assert.True(Tok.EncodeContinuation(" Sue").Length > 1);
    }

    [Fact]
    public void Continuation_of_a_name_matches_its_ids_in_context()
    {
        int[] prefix = Tok.Encode("Once upon a time, there was a girl named", addBos: true);
        int[] full = Tok.Encode("Once upon a time, there was a girl named Lily", addBos: true);
        Assert.Equal(full, prefix.Concat(Tok.EncodeContinuation(" Lily")).ToArray());
        Assert.Equal([317], Tok.EncodeContinuation(" Lily"));
    }

    [Fact]
    public void Decode_strips_the_space_after_bos_only()
    {
        Assert.Equal("Lily", Tok.Decode([1, 317]));
        Assert.Equal(" Lily", Tok.Decode([317]));
        Assert.Equal("Lily", Tok.DecodeToken(317, previous: 1));
        Assert.Equal(" Lily", Tok.DecodeToken(317, previous: 410));
        Assert.Equal(" Lily", Tok.DecodeToken(317));
        Assert.Equal("", Tok.DecodeToken(1));
        Assert.Equal("Lily", Tok.Decode([1, 317, 2])); // EOS skipped
        Assert.Equal("\n", Tok.DecodeToken(13, previous: 1)); // <0x0A> after BOS
    }

    [Fact]
    public void Byte_tokens_assemble_into_characters()
    {
        // 😀 is not in tok512: four byte tokens F0 9F 98 80 (ids 243, 162, 155, 131).
        int[] ids = Tok.EncodeContinuation("😀");
        Assert.Equal([0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3], ids);
        Assert.Equal("😀", Tok.Decode(ids));
        var stream = new TokenStreamDecoder(Tok);
        Assert.Equal(["", "", "", "😀"], ids.Select(stream.Push).ToArray());
        Assert.Equal("", stream.Flush());
        // A genuine U+FFFD followed by a character spread over byte tokens: nothing may be emitted early.
        int[] tricky = Tok.EncodeContinuation("\uFFFD한");
        Assert.Equal(6, tricky.Length);
        Assert.Equal("\uFFFD한", string.Concat(tricky.Select(stream.Push)) + stream.Flush());
        // é (C3 A9) is a piece of its own in tok512, but as bytes it decodes across two tokens.
        Assert.Equal("é", Tok.DecodeToken(0xA9 + 3, previous: 0xC3 + 3));
        Assert.Equal("", Tok.DecodeToken(0xC3 + 3, previous: 317));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Streaming_decode_matches_decode(int index)
    {
        int[] ids = TokenizerFixtures.Tok512.Value[index].Ids;
        var stream = new TokenStreamDecoder(Tok);
        Assert.Equal(Tok.Decode(ids), string.Concat(ids.Select(stream.Push)) + stream.Flush());
        // Token by token with DecodeToken also works whenever no character spans more than two tokens: every
        // character is a piece, or has at most two UTF-8 bytes.
        string text = TokenizerFixtures.Tok512.Value[index].Text;
        if (text.All(c => c < 0x800 || Tok.TokenId(c.ToString()) is not null))
        {
            int? previous = null;
            var sb = new System.Text.StringBuilder();
            foreach (int id in ids) { sb.Append(Tok.DecodeToken(id, previous)); previous = id; }
            Assert.Equal(Tok.Decode(ids), sb.ToString());
        }
    }

    [Fact]
    public void Queue_and_flat_merge_paths_agree()
    {
        var rng = new Random(1234);
        string alphabet = "abcdefghijklmnopqrstuvwxyz ABCLT.,!'\"\né日😀";
        var texts = TokenizerFixtures.Tok512.Value.Select(c => c.Text).ToList();
        for (int i = 0; i < 200; i++)
        {
            int len = rng.Next(0, 120);
            var sb = new System.Text.StringBuilder();
            for (int k = 0; k < len; k++)
            {
                int at = rng.Next(alphabet.Length);
                if (char.IsHighSurrogate(alphabet[at])) sb.Append(alphabet, at, 2);
                else if (!char.IsLowSurrogate(alphabet[at])) sb.Append(alphabet[at]);
            }
            texts.Add(sb.ToString());
        }
        foreach (string t in texts)
            Assert.Equal(Tok.EncodeCore(t, true, true, forceQueue: false), Tok.EncodeCore(t, true, true, forceQueue: true));
    }

    /// <summary>
    /// A hang guard, not a speed target (tokenizer speed belongs in a benchmark): a quadratic merge loop takes minutes
    /// on 22,000 characters, the heap-based one milliseconds; the budget leaves room for a loaded, instrumented CI run.
    /// </summary>
    [Fact]
    public void Long_text_encodes_without_quadratic_blowup()
    {
        Tok.Encode("warm up", addBos: true); // loading the vocabulary is not what is measured
        string story = string.Concat(Enumerable.Repeat("Once upon a time, there was a little girl named Lily. ", 400));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int[] ids = Tok.Encode(story, addBos: true);
        sw.Stop();
        Assert.Equal(story, Tok.Decode(ids));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Loader_finds_tok512_next_to_the_checkpoint()
    {
        var tok = Assert.IsType<Llama2cTokenizer>(TokenizerLoader.ForModelPath(TestPaths.Models("stories260K/stories260K.bin")));
        Assert.Equal(512, tok.VocabSize);
        Assert.Equal(Tok.Encode("Hello world", true), tok.Encode("Hello world", true));
        Assert.IsType<Llama2cTokenizer>(TokenizerLoader.ForModelPath(TestPaths.Models("stories260K")));
        Assert.IsType<ByteLevelBpeTokenizer>(TokenizerLoader.ForModelPath(TestPaths.Models("gpt2-tokenizer")));
        Assert.Equal(512, TokenizerLoader.ReadLlama2cVocabSize(TestPaths.Models("stories260K/stories260K.bin")));
    }

    [Fact]
    public void Loader_uses_tokenizer_bin_and_negative_vocab_size()
    {
        using var dir = new TempDir();
        // A header with vocab_size -512 (unshared classifier), and the tokenizer under llama2.c's default name.
        var header = new byte[28 + 16];
        int[] fields = [64, 172, 5, 8, 4, -512, 512];
        for (int i = 0; i < fields.Length; i++) BitConverter.TryWriteBytes(header.AsSpan(i * 4), fields[i]);
        string model = dir.Write("model.bin", header);
        File.Copy(TestPaths.Models("stories260K/tok512.bin"), dir.File("tokenizer.bin"));
        var tok = Assert.IsType<Llama2cTokenizer>(TokenizerLoader.ForModelPath(model));
        Assert.Equal(512, tok.VocabSize);
    }

    [Fact]
    public void Loader_returns_null_without_tokenizer_files()
    {
        using var dir = new TempDir();
        dir.Write("README.md", "nothing here");
        Assert.Null(TokenizerLoader.FromFolder(dir.Path));
        var header = new byte[28];
        BitConverter.TryWriteBytes(header.AsSpan(20), 512);
        Assert.Null(TokenizerLoader.ForModelPath(dir.Write("model.bin", header)));
        Assert.Throws<DirectoryNotFoundException>(() => TokenizerLoader.FromFolder(dir.File("missing")));
    }
}
