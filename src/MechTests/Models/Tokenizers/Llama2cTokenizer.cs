using System.Buffers.Binary;
using System.Text;

namespace MechTests.Models.Tokenizers;

/// <summary>
/// The tokenizer of Karpathy's llama2.c (<c>tokenizer.bin</c>, <c>tok512.bin</c>…): a SentencePiece vocabulary
/// exported as scored byte strings, encoded exactly like llama2.c's <c>encode()</c> in run.c and decoded like its
/// <c>decode()</c>. Ids 0, 1, 2 are <c>&lt;unk&gt;</c>, BOS and EOS; ids 3..258 are the bytes <c>&lt;0x00&gt;</c>..<c>&lt;0xFF&gt;</c>.
/// </summary>
/// <remarks>
/// Encoding: optional BOS; for non-empty text the id of the piece " " (the dummy prefix); each UTF-8 code point as a
/// piece, or its bytes (id = byte + 3) when the vocabulary lacks it; then, while some adjacent pair concatenates to a
/// piece, merge the pair whose piece has the highest score (leftmost on ties). llama2.c rescans all pairs per merge
/// (quadratic); this keeps a priority queue of candidate pairs instead, making the same choices in O(n log n).
/// Pieces are compared as raw bytes, exactly as the C code compares <c>char*</c> strings.
/// </remarks>
/// <example><code>
/// var tok = Llama2cTokenizer.Load("models/stories260K/tok512.bin", vocabSize: 512);
/// int[] ids = tok.Encode("Once upon a time", addBos: true);   // starts with 1 (BOS)
/// string text = tok.Decode(ids);                              // "Once upon a time"
/// </code></example>
public sealed class Llama2cTokenizer : ITokenizer
{
    private const int FirstByteToken = 3;
    private const float NeverMerge = -1e10f; // llama2.c's initial best_score: pieces scoring at or below never merge

    private readonly byte[][] _pieces;
    private readonly float[] _scores;
    private readonly Dictionary<string, int> _lookup;          // piece bytes as Latin-1 chars → first id
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookupSpan;
    private readonly int[] _canonical;                          // id → the id str_lookup returns for its piece
    private readonly Dictionary<long, int> _pairToMerged;       // (canonical left, canonical right) → merged id
    private readonly int _dummyPrefixId;

    private Llama2cTokenizer(string sourcePath, int maxTokenLength, byte[][] pieces, float[] scores)
    {
        SourcePath = sourcePath;
        MaxTokenLength = maxTokenLength;
        _pieces = pieces;
        _scores = scores;
        _lookup = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int i = 0; i < pieces.Length; i++) _lookup.TryAdd(Latin1(pieces[i]), i);
        _lookupSpan = _lookup.GetAlternateLookup<ReadOnlySpan<char>>();
        _canonical = new int[pieces.Length];
        for (int i = 0; i < pieces.Length; i++) _canonical[i] = _lookup[Latin1(pieces[i])];
        _pairToMerged = BuildPairTable();
        // llama2.c assumes " " is a piece; if a vocabulary lacks it, the space byte token is the faithful stand-in.
        _dummyPrefixId = _lookup.TryGetValue(" ", out int space) ? space : FirstByteToken + ' ';
    }

    /// <summary>The file the vocabulary was read from.</summary>
    public string SourcePath { get; }

    /// <summary>The file's declared longest piece, in bytes.</summary>
    public int MaxTokenLength { get; }

    /// <inheritdoc />
    public int VocabSize => _pieces.Length;

    /// <inheritdoc />
    public int? BosId => 1;

    /// <inheritdoc />
    public int? EosId => 2;

    /// <inheritdoc />
    public bool AddsBosByDefault => true;

    /// <summary>The merge score of a token (higher merges first).</summary>
    public float Score(int id) => _scores[id];

    /// <summary>
    /// Reads a llama2.c tokenizer file: int32 max_token_length, then per token float32 score, int32 byte length and
    /// the bytes (all little-endian). Reads <paramref name="vocabSize"/> tokens (the model header's vocab_size);
    /// anything after them is ignored, as llama2.c does.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is truncated or is not a llama2.c tokenizer; the message names the file and what was expected,
    /// e.g. "tok512.bin: token 37 declares 12 bytes but only 5 remain".
    /// </exception>
    /// <example><code>
    /// var tok = Llama2cTokenizer.Load("models/stories260K/tok512.bin", 512);
    /// </code></example>
    public static Llama2cTokenizer Load(string path, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        return Parse(path, File.ReadAllBytes(path), vocabSize);
    }

    /// <summary>Reads every token in a llama2.c tokenizer file (its vocabulary size is the number of tokens).</summary>
    /// <exception cref="InvalidDataException">The file is truncated or is not a llama2.c tokenizer.</exception>
    /// <example><code>
    /// var tok = Llama2cTokenizer.Load("models/stories260K/tok512.bin");   // VocabSize 512
    /// </code></example>
    public static Llama2cTokenizer Load(string path) => Parse(path, File.ReadAllBytes(path), vocabSize: null);

    private static Llama2cTokenizer Parse(string path, byte[] data, int? vocabSize)
    {
        if (data.Length < 4)
            throw new InvalidDataException($"{path}: expected a 4-byte max_token_length header but the file has {data.Length} bytes.");
        int maxTokenLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (maxTokenLength <= 0)
            throw new InvalidDataException($"{path}: max_token_length is {maxTokenLength}; expected a positive number.");

        var pieces = new List<byte[]>(vocabSize ?? 512);
        var scores = new List<float>(vocabSize ?? 512);
        int offset = 4;
        for (int i = 0; vocabSize is null ? offset < data.Length : i < vocabSize; i++)
        {
            int remaining = data.Length - offset;
            if (remaining < 8)
                throw new InvalidDataException(vocabSize is int n && remaining == 0
                    ? $"{path}: the file ends after {i} tokens; expected {n} (the model's vocab_size)."
                    : $"{path}: token {i} needs 8 bytes for its score and length but only {remaining} remain.");
            float score = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(offset));
            int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset + 4));
            offset += 8;
            remaining -= 8;
            if (length < 0)
                throw new InvalidDataException($"{path}: token {i} declares a negative length ({length}).");
            if (length > remaining)
                throw new InvalidDataException($"{path}: token {i} declares {length} bytes but only {remaining} remain.");
            pieces.Add(data.AsSpan(offset, length).ToArray());
            scores.Add(score);
            offset += length;
        }
        if (pieces.Count == 0) throw new InvalidDataException($"{path}: the vocabulary is empty; a tokenizer needs at least one token.");

        // Encoding relies on the SentencePiece layout: three control tokens, then one token per byte value.
        if (pieces.Count < FirstByteToken + 256)
            throw new InvalidDataException($"{path}: has {pieces.Count} tokens; a llama2.c tokenizer needs at least 259 "
                + "(<unk>, <s>, </s> and the 256 byte tokens <0x00>..<0xFF>).");
        for (int b = 0; b < 256; b++)
        {
            string expected = $"<0x{b:X2}>";
            if (Latin1(pieces[FirstByteToken + b]) != expected)
                throw new InvalidDataException($"{path}: token {FirstByteToken + b} is '{Printable(pieces[FirstByteToken + b])}'; "
                    + $"expected '{expected}' (byte tokens must be ids 3..258).");
        }
        return new Llama2cTokenizer(path, maxTokenLength, pieces.ToArray(), scores.ToArray());
    }

    // Every (left, right) whose concatenation is a piece: found by cutting each piece in two. Together with the
    // canonical ids this answers llama2.c's "sprintf(left, right) then str_lookup" without building strings.
    private Dictionary<long, int> BuildPairTable()
    {
        var table = new Dictionary<long, int>();
        bool hasEmpty = _lookup.TryGetValue("", out int empty);
        for (int id = 0; id < _pieces.Length; id++)
        {
            if (_canonical[id] != id) continue;
            string piece = Latin1(_pieces[id]);
            for (int cut = hasEmpty ? 0 : 1; cut <= (hasEmpty ? piece.Length : piece.Length - 1); cut++)
            {
                if (_lookupSpan.TryGetValue(piece.AsSpan(0, cut), out int left)
                    && _lookupSpan.TryGetValue(piece.AsSpan(cut), out int right))
                    table[Key(left, right)] = id;
            }
        }
        return table;
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private readonly struct ScoreRule(Llama2cTokenizer t) : IMergeRule
    {
        public bool TryMerge(int left, int right, out double priority, out int merged)
        {
            if (t._pairToMerged.TryGetValue(Key(t._canonical[left], t._canonical[right]), out merged))
            {
                float score = t._scores[merged];
                if (score > NeverMerge) { priority = -(double)score; return true; } // NaN fails too, as in C
            }
            priority = 0;
            merged = 0;
            return false;
        }
    }

    /// <inheritdoc />
    public int[] Encode(string text, bool addBos) => EncodeCore(text, addBos, dummyPrefix: true, forceQueue: false);

    /// <summary>
    /// Encodes a fragment as it would be tokenized after preceding text: no BOS and no dummy prefix.
    /// In this SentencePiece scheme the space before a word belongs to the word's piece (" Lily" is one token in
    /// tok512), so pass the fragment with its leading space: <c>EncodeContinuation(" Lily")</c> gives the id " Lily"
    /// has inside "…named Lily.", whereas <c>Encode(" Lily", false)</c> would add the dummy " " in front and
    /// <c>EncodeContinuation("Lily")</c> gives the word-internal pieces. The ids equal the in-context ones unless a
    /// merge would cross the fragment's edges, e.g. " Tim" followed by "my" becomes " Timmy".
    /// </summary>
    public int[] EncodeContinuation(string text) => EncodeCore(text, addBos: false, dummyPrefix: false, forceQueue: false);

    internal int[] EncodeCore(string text, bool addBos, bool dummyPrefix, bool forceQueue)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var tokens = new int[bytes.Length + 2];
        int n = 0;
        if (addBos) tokens[n++] = 1;
        if (dummyPrefix && bytes.Length > 0) tokens[n++] = _dummyPrefixId;

        // Group bytes as run.c does: a byte plus following continuation bytes, at most 4 in all.
        Span<char> key = stackalloc char[4];
        for (int i = 0; i < bytes.Length;)
        {
            int start = i++;
            while (i < bytes.Length && (bytes[i] & 0xC0) == 0x80 && i - start < 4) i++;
            for (int k = start; k < i; k++) key[k - start] = (char)bytes[k];
            if (_lookupSpan.TryGetValue(key[..(i - start)], out int id)) tokens[n++] = id;
            else for (int k = start; k < i; k++) tokens[n++] = bytes[k] + FirstByteToken;
        }
        n = MergeEngine.Run(tokens.AsSpan(0, n), new ScoreRule(this), forceQueue);
        return tokens.AsSpan(0, n).ToArray();
    }

    /// <inheritdoc />
    /// <remarks>
    /// As llama2.c prints tokens: <c>&lt;unk&gt;</c>, BOS and EOS are skipped, the piece right after BOS loses one
    /// leading space (the dummy prefix), <c>&lt;0xXX&gt;</c> pieces are raw bytes, and the bytes are UTF-8 decoded
    /// together so characters split over byte tokens come out whole. So <c>Decode(Encode(s, true)) == s</c>, and
    /// without BOS the dummy prefix stays: <c>Decode(Encode(s, false)) == " " + s</c>.
    /// </remarks>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        int? previous = null;
        foreach (int id in ids)
        {
            bytes.AddRange(TextBytes(id, previous));
            previous = id;
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <inheritdoc />
    /// <remarks>
    /// After BOS the leading space is dropped. A character whose bytes are split between <paramref name="previous"/>
    /// and <paramref name="id"/> comes out with <paramref name="id"/>; characters spread over three or more byte
    /// tokens (4-byte emoji) need <see cref="TokenStreamDecoder"/>.
    /// </remarks>
    public string DecodeToken(int id, int? previous = null)
    {
        ReadOnlySpan<byte> before = previous is int p ? TextBytes(p, null) : [];
        return Utf8Text.DecodeStreamed(before, TextBytes(id, previous));
    }

    private ReadOnlySpan<byte> TextBytes(int id, int? previous)
    {
        if ((uint)id >= (uint)_pieces.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"Token ids are 0..{_pieces.Length - 1}.");
        if (id < FirstByteToken) return []; // <unk>, BOS, EOS are control symbols
        if (id < FirstByteToken + 256) return ByteValues.AsSpan(id - FirstByteToken, 1);
        ReadOnlySpan<byte> piece = _pieces[id];
        return previous == 1 && piece.Length > 0 && piece[0] == (byte)' ' ? piece[1..] : piece;
    }

    private static readonly byte[] ByteValues = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();

    /// <inheritdoc />
    /// <remarks>Pieces that are not valid UTF-8 on their own show U+FFFD.</remarks>
    public string TokenString(int id)
    {
        if ((uint)id >= (uint)_pieces.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"Token ids are 0..{_pieces.Length - 1}.");
        return Encoding.UTF8.GetString(_pieces[id]);
    }

    /// <inheritdoc />
    public int? TokenId(string tokenString)
    {
        ArgumentNullException.ThrowIfNull(tokenString);
        return _lookup.TryGetValue(Latin1(Encoding.UTF8.GetBytes(tokenString)), out int id) ? id : null;
    }

    // Bytes as chars 0..255: an exact, cheap dictionary key for byte strings.
    private static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    private static string Printable(byte[] bytes) => BpeModel.Show(Encoding.UTF8.GetString(bytes));
}
