using System.Text;
using System.Text.Json;

namespace MechTests.Models.Tokenizers;

/// <summary>
/// GPT-2 style byte-level BPE (GPT-2, GPT-NeoX/Pythia, Llama 3 and other Hugging Face <c>ByteLevel</c> tokenizers).
/// Text is cut at added tokens such as <c>&lt;|endoftext|&gt;</c>, split with the GPT-2 regex (or the file's
/// <c>Split</c> pattern), each piece's UTF-8 bytes are written in GPT-2's byte alphabet (space → <c>Ġ</c>) and
/// merged by rank. Per-piece results are cached, so re-encoding common words is a dictionary lookup. Thread-safe.
/// </summary>
/// <example><code>
/// var tok = ByteLevelBpeTokenizer.FromVocabAndMerges("models/gpt2-tokenizer/encoder.json", "models/gpt2-tokenizer/vocab.bpe");
/// int[] ids = tok.Encode("Hello world", addBos: false);   // [15496, 995]
/// string text = tok.Decode(ids);                          // "Hello world"
/// </code></example>
public sealed class ByteLevelBpeTokenizer : ITokenizer
{
    private readonly HfTokenizerCore _core;
    private readonly byte[]?[] _bytes;

    internal ByteLevelBpeTokenizer(HfTokenizerCore core, string sourcePath, int? bosId, int? eosId, bool addsBosByDefault)
    {
        _core = core;
        _bytes = new byte[]?[core.VocabSize];
        SourcePath = sourcePath;
        BosId = bosId;
        EosId = eosId;
        AddsBosByDefault = addsBosByDefault;
    }

    /// <summary>The file the vocabulary was read from.</summary>
    public string SourcePath { get; }

    internal HfTokenizerCore Core => _core;

    /// <inheritdoc />
    public int VocabSize => _core.VocabSize;

    /// <inheritdoc />
    public int? BosId { get; private set; }

    /// <inheritdoc />
    public int? EosId { get; private set; }

    /// <inheritdoc />
    public bool AddsBosByDefault { get; private set; }

    /// <summary>Number of merge rules.</summary>
    public int MergeCount => _core.Model.MergeCount;

    /// <summary>Whether a space is put before text that does not start with one (RoBERTa style; false for GPT-2).</summary>
    public bool AddPrefixSpace => _core.PreTokenizers.OfType<ByteLevelStep>().Any(s => s.AddPrefixSpace);

    /// <summary>
    /// Loads a vocabulary (<c>vocab.json</c> / OpenAI's <c>encoder.json</c>: token → id) and merges
    /// (<c>merges.txt</c> / <c>vocab.bpe</c>: one "a b" pair per line, in rank order, after a <c>#version</c> line).
    /// <c>&lt;|endoftext|&gt;</c>, when present, is recognised in text and used as BOS and EOS (GPT-2's convention);
    /// no BOS is added by default.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed files; the message names the file and what was expected.</exception>
    /// <example><code>
    /// var gpt2 = ByteLevelBpeTokenizer.FromVocabAndMerges("gpt2/vocab.json", "gpt2/merges.txt");
    /// </code></example>
    public static ByteLevelBpeTokenizer FromVocabAndMerges(string vocabJsonPath, string mergesTxtPath)
    {
        List<(string Token, int Id)> vocab;
        using (JsonDocument doc = JsonFiles.Parse(vocabJsonPath))
            vocab = JsonFiles.ReadVocab(vocabJsonPath, doc.RootElement, "the top-level object");
        var merges = ReadMergesFile(mergesTxtPath);
        BpeModel model = BpeModel.Create(vocabJsonPath, vocab, merges, new BpeOptions { ByteLevel = true }, mergesTxtPath);
        var added = new List<AddedToken>();
        int? eot = model.IdOf(EndOfText);
        if (eot is int e) added.Add(new AddedToken(e, EndOfText, Special: true));
        var core = new HfTokenizerCore(model, added, [], [new ByteLevelStep(addPrefixSpace: false, useRegex: true)]);
        return new ByteLevelBpeTokenizer(core, vocabJsonPath, eot, eot, addsBosByDefault: false);
    }

    /// <summary>
    /// Loads a Hugging Face <c>tokenizer.json</c> whose model is BPE with a <c>ByteLevel</c> pre-tokenizer (alone or
    /// after a <c>Split</c> in a <c>Sequence</c>). Added tokens are recognised in text. BOS comes from a
    /// <c>TemplateProcessing</c> post-processor when there is one (then it is added by default), else
    /// <c>&lt;|endoftext|&gt;</c> serves as BOS and EOS without being added.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed or unsupported file (e.g. a SentencePiece-style tokenizer).</exception>
    /// <example><code>
    /// var pythia = ByteLevelBpeTokenizer.FromTokenizerJson("pythia-70m/tokenizer.json");
    /// </code></example>
    public static ByteLevelBpeTokenizer FromTokenizerJson(string path)
    {
        TokenizerJsonDefinition def = TokenizerJsonReader.Read(path);
        if (!def.IsByteLevel)
            throw new InvalidDataException($"{path}: this is a SentencePiece-style tokenizer (no ByteLevel pre_tokenizer); "
                + "load it with SentencePieceBpeTokenizer.FromTokenizerJson or TokenizerLoader.FromTokenizerJson.");
        return FromDefinition(def);
    }

    internal static ByteLevelBpeTokenizer FromDefinition(TokenizerJsonDefinition def)
    {
        HfTokenizerCore core = def.Core;
        int? conventional = core.IdOf(EndOfText);
        int? bos = def.TemplateBos ?? conventional ?? core.IdOf("<|begin_of_text|>") ?? core.IdOf("<s>");
        int? eos = def.TemplateEos ?? conventional ?? core.IdOf("<|end_of_text|>") ?? core.IdOf("</s>");
        return new ByteLevelBpeTokenizer(core, def.Path, bos, eos, def.TemplateAddsBos ?? false);
    }

    private const string EndOfText = "<|endoftext|>";

    private static List<MergeEntry> ReadMergesFile(string path)
    {
        var merges = new List<MergeEntry>();
        int lineNumber = 0;
        foreach (string raw in Utf8Input.Decode(File.ReadAllBytes(path), path).Split('\n'))
        {
            lineNumber++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal)) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new InvalidDataException($"{path}: line {lineNumber}: expected two tokens separated by one space, got '{BpeModel.Show(line)}'.");
            merges.Add(new MergeEntry(line[..space], line[(space + 1)..], $"line {lineNumber}"));
        }
        return merges;
    }

    /// <summary>Overrides BOS/EOS and whether BOS is added (from <c>tokenizer_config.json</c> / <c>config.json</c>).</summary>
    internal void SetSpecialTokens(int? bosId, int? eosId, bool addsBos)
    {
        BosId = bosId;
        EosId = eosId;
        AddsBosByDefault = addsBos && bosId is not null;
    }

    /// <inheritdoc />
    public int[] Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos && BosId is int bos) ids.Add(bos);
        _core.Encode(text, continuation: false, ids);
        return ids.ToArray();
    }

    /// <summary>
    /// Encodes a fragment as it is tokenized inside longer text: no BOS and no prefix space. Because the GPT-2 regex
    /// cuts before " word", a fragment starting with a space and a letter (" Paris") gets the same ids it gets after
    /// any text ending in a non-space; a fragment glued to the previous word ("s" after "cat") does not.
    /// </summary>
    public int[] EncodeContinuation(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 1);
        _core.Encode(text, continuation: true, ids);
        return ids.ToArray();
    }

    /// <inheritdoc />
    /// <remarks>Ids the vocabulary does not define (e.g. padding rows of a model's embedding) decode to nothing.</remarks>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (TextBytes(id) is { } b) bytes.AddRange(b);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <inheritdoc />
    /// <remarks>
    /// A character whose UTF-8 bytes are split between <paramref name="previous"/> and <paramref name="id"/> comes out
    /// with <paramref name="id"/>; an unfinished one at the end of <paramref name="id"/> is left for the next token.
    /// Characters spread over three or more tokens need <see cref="TokenStreamDecoder"/>.
    /// </remarks>
    public string DecodeToken(int id, int? previous = null)
    {
        byte[] current = TextBytes(id) ?? [];
        byte[] before = previous is int p ? TextBytes(p) ?? [] : [];
        return Utf8Text.DecodeStreamed(before, current);
    }

    /// <inheritdoc />
    /// <remarks>Empty for ids the vocabulary does not define.</remarks>
    public string TokenString(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        return _core.TokenOf(id) ?? "";
    }

    /// <inheritdoc />
    public int? TokenId(string tokenString)
    {
        ArgumentNullException.ThrowIfNull(tokenString);
        return _core.IdOf(tokenString);
    }

    /// <summary>The bytes a token stands for in decoded text; null for special and undefined ids.</summary>
    private byte[]? TextBytes(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        if (id >= _bytes.Length || _core.IsSpecial(id)) return null;
        if (_bytes[id] is { } cached) return cached;
        string? token = _core.TokenOf(id);
        if (token is null) return null;
        byte[] bytes = ByteLevelAlphabet.ToBytes(token);
        _bytes[id] = bytes; // benign race: every thread computes the same bytes
        return bytes;
    }
}
