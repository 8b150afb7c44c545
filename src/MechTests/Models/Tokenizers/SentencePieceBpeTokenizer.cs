using System.Text;

namespace MechTests.Models.Tokenizers;

/// <summary>
/// SentencePiece-style BPE read from a Hugging Face <c>tokenizer.json</c> (Llama 2, Mistral, TinyLlama…): spaces are
/// written "▁", a dummy "▁" goes in front of the text (a <c>Prepend</c> normalizer or a <c>Metaspace</c>
/// pre-tokenizer), characters are looked up as code points, ones the vocabulary lacks become <c>&lt;0xXX&gt;</c>
/// byte tokens (<c>byte_fallback</c>), and pairs merge by rank. Thread-safe.
/// </summary>
/// <remarks>
/// Decoding drops one leading space right after BOS, where the dummy prefix was put (as llama2.c does), rather than
/// always at the start of the output as Hugging Face's <c>Strip</c> decoder does: then
/// <c>Decode(EncodeContinuation(" Lily"))</c> is " Lily" and decoding generated tokens alone keeps their spaces.
/// </remarks>
/// <example><code>
/// var llama = SentencePieceBpeTokenizer.FromTokenizerJson("Llama-2-7b/tokenizer.json");
/// int[] ids = llama.Encode("Hello world", addBos: true);   // [1, ▁Hello, ▁world]
/// </code></example>
public sealed class SentencePieceBpeTokenizer : ITokenizer
{
    private readonly HfTokenizerCore _core;
    private readonly byte[]?[] _bytes;
    private readonly char _space;

    private SentencePieceBpeTokenizer(HfTokenizerCore core, string sourcePath, char space, bool addsDummyPrefix,
        int? bosId, int? eosId, bool addsBosByDefault)
    {
        _core = core;
        _bytes = new byte[]?[core.VocabSize];
        _space = space;
        SourcePath = sourcePath;
        AddsDummyPrefix = addsDummyPrefix;
        BosId = bosId;
        EosId = eosId;
        AddsBosByDefault = addsBosByDefault && bosId is not null;
    }

    /// <summary>The file the vocabulary was read from.</summary>
    public string SourcePath { get; }

    internal HfTokenizerCore Core => _core;

    /// <summary>Whether a "▁" is put in front of the text (SentencePiece's <c>add_dummy_prefix</c>).</summary>
    public bool AddsDummyPrefix { get; }

    /// <inheritdoc />
    public int VocabSize => _core.VocabSize;

    /// <inheritdoc />
    public int? BosId { get; private set; }

    /// <inheritdoc />
    public int? EosId { get; private set; }

    /// <inheritdoc />
    public bool AddsBosByDefault { get; private set; }

    /// <summary>
    /// Loads a SentencePiece-style <c>tokenizer.json</c> (model BPE; a Metaspace pre-tokenizer or a Prepend/Replace
    /// "▁" normalizer; usually <c>byte_fallback</c>). BOS is the post-processor's leading special token, else
    /// <c>&lt;s&gt;</c>; EOS is <c>&lt;/s&gt;</c> unless the template says otherwise. BOS is added by default unless a
    /// post-processor template leaves it out.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed or unsupported file (e.g. a byte-level tokenizer).</exception>
    /// <example><code>
    /// var tok = SentencePieceBpeTokenizer.FromTokenizerJson("TinyLlama/tokenizer.json");
    /// </code></example>
    public static SentencePieceBpeTokenizer FromTokenizerJson(string path)
    {
        TokenizerJsonDefinition def = TokenizerJsonReader.Read(path);
        if (def.IsByteLevel)
            throw new InvalidDataException($"{path}: this is a byte-level (GPT-2 style) tokenizer; load it with "
                + "ByteLevelBpeTokenizer.FromTokenizerJson or TokenizerLoader.FromTokenizerJson.");
        return FromDefinition(def);
    }

    internal static SentencePieceBpeTokenizer FromDefinition(TokenizerJsonDefinition def)
    {
        HfTokenizerCore core = def.Core;
        int? bos = def.TemplateBos ?? core.IdOf("<s>");
        int? eos = def.TemplateEos ?? core.IdOf("</s>");
        return new SentencePieceBpeTokenizer(core, def.Path, def.SpaceReplacement, def.AddsDummyPrefix, bos, eos,
            def.TemplateAddsBos ?? true);
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
    /// Encodes a fragment as it is tokenized inside longer text: no BOS and no dummy prefix. The space before a word
    /// is part of the word's piece ("▁Lily"), so pass the fragment with its leading space: " Lily" → [▁Lily].
    /// Without it you get the word-internal pieces ("Lily" → ["L", "ily"] or similar). The ids match the in-context
    /// ones unless a merge would cross the fragment's edges (e.g. " Tim" before "my").
    /// </summary>
    public int[] EncodeContinuation(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 1);
        _core.Encode(text, continuation: true, ids);
        return ids.ToArray();
    }

    /// <inheritdoc />
    /// <remarks>
    /// "▁" becomes a space, <c>&lt;0xXX&gt;</c> tokens become raw bytes, and the one space the dummy prefix put in
    /// front of the first piece after BOS is dropped. Undefined ids decode to nothing.
    /// </remarks>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        int? previous = null;
        foreach (int id in ids)
        {
            if (TextBytes(id) is { } b) bytes.AddRange(b.AsSpan(SkipAfterBos(previous, b)));
            previous = id;
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <inheritdoc />
    /// <remarks>
    /// After BOS the dummy-prefix space is dropped. A character whose UTF-8 bytes are split between
    /// <paramref name="previous"/> and <paramref name="id"/> comes out with <paramref name="id"/>; characters spread
    /// over three or more byte tokens need <see cref="TokenStreamDecoder"/>.
    /// </remarks>
    public string DecodeToken(int id, int? previous = null)
    {
        byte[] current = TextBytes(id) ?? [];
        byte[] before = previous is int p ? TextBytes(p) ?? [] : [];
        return Utf8Text.DecodeStreamed(before, current.AsSpan(SkipAfterBos(previous, current)));
    }

    private int SkipAfterBos(int? previous, byte[] bytes) =>
        AddsDummyPrefix && previous is int p && p == BosId && bytes.Length > 0 && bytes[0] == (byte)' ' ? 1 : 0;

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

    private bool IsControl(int id) => _core.IsSpecial(id) || id == BosId || id == EosId;

    /// <summary>The bytes a token stands for in decoded text; null for special and undefined ids.</summary>
    private byte[]? TextBytes(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        if (id >= _bytes.Length || IsControl(id)) return null;
        if (_bytes[id] is { } cached) return cached;
        string? token = _core.TokenOf(id);
        if (token is null) return null;
        byte[] bytes;
        if (_core.IsAdded(id, out string content)) bytes = Encoding.UTF8.GetBytes(content);
        else if (IsByteToken(token, out byte value)) bytes = [value];
        else bytes = Encoding.UTF8.GetBytes(token.Replace(_space, ' '));
        _bytes[id] = bytes; // benign race: every thread computes the same bytes
        return bytes;
    }

    private static bool IsByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }
}
