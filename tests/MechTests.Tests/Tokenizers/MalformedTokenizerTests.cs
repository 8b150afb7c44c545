using System.Text.Json.Nodes;
using MechTests.Models.Tokenizers;
using Xunit;

namespace MechTests.Tests.Tokenizers;

/// <summary>Bad files fail with InvalidDataException naming the file and what was expected.</summary>
public class MalformedTokenizerTests
{
    private static byte[] Tok512Bytes() => File.ReadAllBytes(TestPaths.Models("stories260K/tok512.bin"));

    /// <summary>Offset of token <paramref name="index"/>'s score field (walking the length fields of the file).</summary>
    private static int TokenOffset(byte[] bytes, int index)
    {
        int offset = 4;
        for (int i = 0; i < index; i++) offset += 8 + BitConverter.ToInt32(bytes, offset + 4);
        return offset;
    }

    private static InvalidDataException Fails(Action load, string path, params string[] fragments)
    {
        var ex = Assert.Throws<InvalidDataException>(load);
        Assert.Contains(path, ex.Message);
        foreach (string f in fragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    [Fact]
    public void Truncated_tok512_names_the_token_and_the_shortfall()
    {
        using var dir = new TempDir();
        byte[] bytes = Tok512Bytes();
        // Token 37 is "<0x22>" (6 bytes); keep only 5 of them.
        int pieceStart = TokenOffset(bytes, 37) + 8;
        Assert.Equal(6, BitConverter.ToInt32(bytes, pieceStart - 4));
        string path = dir.Write("tok512.bin", bytes[..(pieceStart + 5)]);
        Fails(() => Llama2cTokenizer.Load(path, 512), path, "token 37 declares 6 bytes but only 5 remain");
    }

    [Fact]
    public void Tok512_cut_between_tokens_or_inside_a_length()
    {
        using var dir = new TempDir();
        byte[] bytes = Tok512Bytes();
        string cutLength = dir.Write("a.bin", bytes[..(TokenOffset(bytes, 8) + 6)]);
        Fails(() => Llama2cTokenizer.Load(cutLength, 512), cutLength, "token 8", "8 bytes", "only 6 remain");
        string tooFew = dir.Write("b.bin", bytes);
        Fails(() => Llama2cTokenizer.Load(tooFew, 600), tooFew, "ends after 512 tokens", "expected 600");
        string empty = dir.Write("c.bin", new byte[2]);
        Fails(() => Llama2cTokenizer.Load(empty, 512), empty, "max_token_length");
        Fails(() => Llama2cTokenizer.Load(empty), empty, "max_token_length");
    }

    [Fact]
    public void Tok512_with_a_bad_length_or_layout()
    {
        using var dir = new TempDir();
        byte[] bytes = Tok512Bytes();
        BitConverter.TryWriteBytes(bytes.AsSpan(4 + 4), -3); // token 0's length
        string negative = dir.Write("neg.bin", bytes);
        Fails(() => Llama2cTokenizer.Load(negative, 512), negative, "token 0", "negative length");

        byte[] swapped = Tok512Bytes();
        swapped[TokenOffset(swapped, 3) + 8 + 3] = (byte)'7'; // token 3 "<0x00>" → "<0x70>"
        string layout = dir.Write("layout.bin", swapped);
        Fails(() => Llama2cTokenizer.Load(layout, 512), layout, "token 3", "expected '<0x00>'");
        Fails(() => Llama2cTokenizer.Load(dir.Write("small.bin", Tok512Bytes()), 100), "small.bin", "needs at least 259");
    }

    [Fact]
    public void Bad_json_names_the_file()
    {
        using var dir = new TempDir();
        string path = dir.Write("tokenizer.json", "{ \"model\": { \"type\": \"BPE\", ");
        Fails(() => TokenizerLoader.FromTokenizerJson(path), path, "not valid JSON");
        string vocab = dir.Write("vocab.json", "[1, 2, 3]");
        string merges = dir.Write("merges.txt", "#version: 0.2\n");
        Fails(() => ByteLevelBpeTokenizer.FromVocabAndMerges(vocab, merges), vocab, "expected an object");
    }

    [Fact]
    public void Unknown_model_type()
    {
        using var dir = new TempDir();
        string path = dir.Write("tokenizer.json", """{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}""");
        Fails(() => TokenizerLoader.FromTokenizerJson(path), path, "model.type 'Unigram' is not supported; expected 'BPE'");
        string noModel = dir.Write("nomodel.json", """{"version": "1.0"}""");
        Fails(() => TokenizerLoader.FromTokenizerJson(noModel), noModel, "model is missing");
    }

    private static string MiniByteLevel(string vocab, string merges, string extra = "") => $$$"""
        {"added_tokens": [{{{extra}}}], "normalizer": null,
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
         "model": {"type": "BPE", "vocab": {{{vocab}}}, "merges": {{{merges}}}}}
        """;

    [Fact]
    public void Merges_referencing_unknown_tokens()
    {
        using var dir = new TempDir();
        string path = dir.Write("t.json", MiniByteLevel("""{"a": 0, "b": 1, "ab": 2}""", """["a b", "a c"]"""));
        Fails(() => TokenizerLoader.FromTokenizerJson(path), path, "model.merges[1]", "token 'c' is not in the vocabulary");
        string result = dir.Write("r.json", MiniByteLevel("""{"a": 0, "b": 1}""", """[["a", "b"]]"""));
        Fails(() => TokenizerLoader.FromTokenizerJson(result), result, "merged token 'ab' is not in the vocabulary");
        string shape = dir.Write("s.json", MiniByteLevel("""{"a": 0, "b": 1, "ab": 2}""", """["a b c"]"""));
        Fails(() => TokenizerLoader.FromTokenizerJson(shape), shape, "model.merges[0]", "two tokens");

        string vocab = dir.Write("vocab.json", """{"a": 0, "b": 1, "ab": 2}""");
        string merges = dir.Write("merges.txt", "#version: 0.2\na b\nb x\n");
        Fails(() => ByteLevelBpeTokenizer.FromVocabAndMerges(vocab, merges), merges, "line 3", "token 'x'");
        string badLine = dir.Write("bad.txt", "#version: 0.2\nab\n");
        Fails(() => ByteLevelBpeTokenizer.FromVocabAndMerges(vocab, badLine), badLine, "line 2", "two tokens");
    }

    [Fact]
    public void Vocabulary_ids_out_of_range_or_duplicated()
    {
        using var dir = new TempDir();
        string negative = dir.Write("n.json", MiniByteLevel("""{"a": -1}""", "[]"));
        Fails(() => TokenizerLoader.FromTokenizerJson(negative), negative, "id -1", "out of range");
        string huge = dir.Write("h.json", MiniByteLevel("""{"a": 99999999}""", "[]"));
        Fails(() => TokenizerLoader.FromTokenizerJson(huge), huge, "out of range");
        string notInt = dir.Write("f.json", MiniByteLevel("""{"a": 1.5}""", "[]"));
        Fails(() => TokenizerLoader.FromTokenizerJson(notInt), notInt, "model.vocab[\"a\"]", "expected an integer id");
        string dupId = dir.Write("d.json", MiniByteLevel("""{"a": 0, "b": 0}""", "[]"));
        Fails(() => TokenizerLoader.FromTokenizerJson(dupId), dupId, "id 0 is used by both 'a' and 'b'");
        string dupToken = dir.Write("t.json", MiniByteLevel("""{"a": 0, "a": 1}""", "[]"));
        Fails(() => TokenizerLoader.FromTokenizerJson(dupToken), dupToken, "'a' appears twice");
        string addedDup = dir.Write("a.json", MiniByteLevel("""{"a": 0, "b": 1}""", "[]",
            """{"id": 5, "content": "<x>"}, {"id": 5, "content": "<y>"}"""));
        Fails(() => TokenizerLoader.FromTokenizerJson(addedDup), addedDup, "added token id 5");
    }

    [Fact]
    public void Unsupported_pipeline_parts_are_named()
    {
        using var dir = new TempDir();
        string pre = dir.Write("p.json", """{"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}""");
        Fails(() => TokenizerLoader.FromTokenizerJson(pre), pre, "pre_tokenizer.type 'BertPreTokenizer' is not supported");
        string norm = dir.Write("n.json", """{"normalizer": {"type": "Sequence", "normalizers": [{"type": "BertNormalizer"}]}, "model": {"type": "BPE", "vocab": {}, "merges": []}}""");
        Fails(() => TokenizerLoader.FromTokenizerJson(norm), norm, "normalizer.normalizers[0].type 'BertNormalizer'");
        string neither = dir.Write("x.json", """{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""");
        Fails(() => TokenizerLoader.FromTokenizerJson(neither), neither, "ByteLevel");
        string suffix = dir.Write("s.json", """{"model": {"type": "BPE", "vocab": {}, "merges": [], "end_of_word_suffix": "</w>"}}""");
        Fails(() => TokenizerLoader.FromTokenizerJson(suffix), suffix, "end_of_word_suffix");
        string regex = dir.Write("r.json", """{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a++"}, "behavior": "Isolated"}, "model": {"type": "BPE", "byte_fallback": true, "vocab": {}, "merges": []}}""");
        Fails(() => TokenizerLoader.FromTokenizerJson(regex), regex, "not supported by .NET regex");
    }

    [Fact]
    public void Bad_config_files_are_named()
    {
        using var dir = new TempDir();
        File.Copy(TestPaths.Models("gpt2-tokenizer/encoder.json"), dir.File("vocab.json"));
        File.Copy(TestPaths.Models("gpt2-tokenizer/vocab.bpe"), dir.File("merges.txt"));
        string config = dir.Write("tokenizer_config.json", """{"bos_token": "<|nope|>"}""");
        Fails(() => TokenizerLoader.FromFolder(dir.Path), config, "bos_token '<|nope|>' is not in the tokenizer's vocabulary");
        File.Delete(config);
        string model = dir.Write("config.json", """{"eos_token_id": 60000}""");
        Fails(() => TokenizerLoader.FromFolder(dir.Path), model, "eos_token_id 60000 is out of range");
    }

    [Fact]
    public void Short_llama2c_header()
    {
        using var dir = new TempDir();
        string model = dir.Write("model.bin", new byte[10]);
        Fails(() => TokenizerLoader.ReadLlama2cVocabSize(model), model, "28-byte llama2.c header");
        // Discovery is lenient: a .bin without a llama2.c header just has no tokenizer next to it.
        Assert.Null(TokenizerLoader.ForModelPath(model));
        File.Copy(TestPaths.Models("gpt2-tokenizer/encoder.json"), dir.File("encoder.json"));
        File.Copy(TestPaths.Models("gpt2-tokenizer/vocab.bpe"), dir.File("vocab.bpe"));
        Assert.IsType<ByteLevelBpeTokenizer>(TokenizerLoader.ForModelPath(model));
    }
}
