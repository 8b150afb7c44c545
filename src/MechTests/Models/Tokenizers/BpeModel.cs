using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace MechTests.Models.Tokenizers;

/// <summary>One line of a merges list, with where it came from for error messages.</summary>
internal readonly record struct MergeEntry(string Left, string Right, string Where);

/// <summary>Options of a Hugging Face BPE model.</summary>
internal sealed record BpeOptions
{
    /// <summary>Pieces are read as UTF-8 bytes in GPT-2's byte alphabet (else as code points).</summary>
    public bool ByteLevel { get; init; }
    /// <summary>Token used for characters the vocabulary lacks.</summary>
    public string? UnkToken { get; init; }
    /// <summary>Consecutive unknown characters give one unknown token.</summary>
    public bool FuseUnk { get; init; }
    /// <summary>Characters the vocabulary lacks become their UTF-8 bytes as <c>&lt;0xXX&gt;</c> tokens.</summary>
    public bool ByteFallback { get; init; }
    /// <summary>A piece that is itself a vocabulary entry is emitted as-is without merging (Llama 3).</summary>
    public bool IgnoreMerges { get; init; }
}

/// <summary>
/// A BPE vocabulary and merge table: turns one pre-tokenized piece into ids. Thread-safe; results per piece are
/// cached because the same words recur across thousands of prompts.
/// </summary>
internal sealed class BpeModel
{
    private const int CacheablePieceLength = 256;
    private const int MaxCacheEntries = 200_000;

    /// <summary>Largest id accepted in a vocabulary file; larger ones are treated as corrupt data.</summary>
    internal const int MaxId = (1 << 24) - 1;

    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _tokenLookup;
    private readonly Dictionary<long, (int Rank, int Merged)> _merges;
    private readonly int[] _byteLevelIds = new int[256];
    private readonly int[] _byteFallbackIds = new int[256];
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;

    private BpeModel(string source, string?[] idToToken, Dictionary<string, int> tokenToId,
        Dictionary<long, (int, int)> merges, BpeOptions options, int? unkId)
    {
        Source = source;
        _idToToken = idToToken;
        _tokenToId = tokenToId;
        _tokenLookup = tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();
        _merges = merges;
        Options = options;
        UnkId = unkId;
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int b = 0; b < 256; b++)
        {
            _byteLevelIds[b] = tokenToId.TryGetValue(ByteLevelAlphabet.ByteToChar[b].ToString(), out int id) ? id : -1;
            _byteFallbackIds[b] = tokenToId.TryGetValue($"<0x{b:X2}>", out int fb) ? fb : -1;
        }
    }

    /// <summary>The file the model was read from (for messages).</summary>
    public string Source { get; }

    /// <summary>Model options.</summary>
    public BpeOptions Options { get; }

    /// <summary>Id of the unknown token, if any.</summary>
    public int? UnkId { get; }

    /// <summary>One more than the largest vocabulary id.</summary>
    public int IdCount => _idToToken.Length;

    /// <summary>Number of merge rules.</summary>
    public int MergeCount => _merges.Count;

    /// <summary>The vocabulary string of <paramref name="id"/>, or null where the vocabulary has no such id.</summary>
    public string? TokenOf(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>The id of a vocabulary string, or null.</summary>
    public int? IdOf(string token) => _tokenToId.TryGetValue(token, out int id) ? id : null;

    /// <summary>The id of the <c>&lt;0xXX&gt;</c> token for a byte, or -1.</summary>
    public int ByteFallbackId(byte b) => _byteFallbackIds[b];

    /// <summary>
    /// Builds and validates a model. Throws <see cref="InvalidDataException"/> naming <paramref name="source"/> for ids
    /// out of range, ids or tokens used twice, and merges whose parts or result are not in the vocabulary (those
    /// name <paramref name="mergesSource"/> when the merges come from a separate file).
    /// </summary>
    public static BpeModel Create(string source, IReadOnlyList<(string Token, int Id)> vocab,
        IReadOnlyList<MergeEntry> merges, BpeOptions options, string? mergesSource = null)
    {
        string mergesFile = mergesSource ?? source;
        // When merges and vocabulary are separate files (vocab.json + merges.txt) a mismatch names both.
        string inVocab = mergesFile == source ? "" : $" ({source})";
        // An empty vocabulary loads but cannot encode anything; say so here, naming the file, not at the first prompt.
        if (vocab.Count == 0) throw new InvalidDataException($"{source}: the vocabulary is empty; a tokenizer needs at least one token.");
        var tokenToId = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        int maxId = -1;
        foreach (var (token, id) in vocab)
        {
            if (id < 0 || id > MaxId)
                throw new InvalidDataException($"{source}: vocabulary id {id} of token '{Show(token)}' is out of range (expected 0..{MaxId}).");
            if (!tokenToId.TryAdd(token, id))
                throw new InvalidDataException($"{source}: token '{Show(token)}' appears twice in the vocabulary.");
            maxId = Math.Max(maxId, id);
        }
        var idToToken = new string?[maxId + 1];
        foreach (var (token, id) in vocab)
        {
            if (idToToken[id] is { } other)
                throw new InvalidDataException($"{source}: vocabulary id {id} is used by both '{Show(other)}' and '{Show(token)}'.");
            idToToken[id] = token;
        }

        var mergeTable = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right, where) = merges[rank];
            if (!tokenToId.TryGetValue(left, out int l))
                throw new InvalidDataException($"{mergesFile}: {where}: token '{Show(left)}' is not in the vocabulary{inVocab}.");
            if (!tokenToId.TryGetValue(right, out int r))
                throw new InvalidDataException($"{mergesFile}: {where}: token '{Show(right)}' is not in the vocabulary{inVocab}.");
            if (!tokenToId.TryGetValue(left + right, out int m))
                throw new InvalidDataException($"{mergesFile}: {where}: merged token '{Show(left + right)}' is not in the vocabulary{inVocab}.");
            mergeTable[Key(l, r)] = (rank, m); // a repeated pair keeps its last rank, as GPT-2 and Hugging Face do
        }

        int? unkId = null;
        if (options.UnkToken is { } unk)
        {
            if (!tokenToId.TryGetValue(unk, out int u))
                throw new InvalidDataException($"{source}: unk_token '{Show(unk)}' is not in the vocabulary.");
            unkId = u;
        }
        return new BpeModel(source, idToToken, tokenToId, mergeTable, options, unkId);
    }

    /// <summary>Makes control and odd characters visible in error messages.</summary>
    internal static string Show(string token)
    {
        var sb = new StringBuilder(token.Length);
        foreach (char c in token)
        {
            if (char.IsControl(c) || char.IsSurrogate(c)) sb.Append($"\\u{(int)c:X4}");
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private readonly struct RankRule(Dictionary<long, (int Rank, int Merged)> merges) : IMergeRule
    {
        public bool TryMerge(int left, int right, out double priority, out int merged)
        {
            if (merges.TryGetValue(Key(left, right), out var m)) { priority = m.Rank; merged = m.Merged; return true; }
            priority = 0; merged = 0;
            return false;
        }
    }

    /// <summary>Appends the ids of one pre-tokenized piece.</summary>
    public void EncodePiece(ReadOnlySpan<char> piece, List<int> output)
    {
        if (piece.IsEmpty) return;
        if (_cacheLookup.TryGetValue(piece, out int[]? cached)) { output.AddRange(cached); return; }
        int[] ids = EncodeUncached(piece);
        if (piece.Length <= CacheablePieceLength)
        {
            if (_cache.Count >= MaxCacheEntries) _cache.Clear(); // crude bound; a refill is cheap
            _cache.TryAdd(piece.ToString(), ids);
        }
        output.AddRange(ids);
    }

    /// <summary>Encodes a piece without the cache; <paramref name="forceQueue"/> exercises the long-word path in tests.</summary>
    internal int[] EncodeUncached(ReadOnlySpan<char> piece, bool forceQueue = false)
    {
        int capacity = Encoding.UTF8.GetMaxByteCount(piece.Length);
        int[] rented = ArrayPool<int>.Shared.Rent(capacity);
        try
        {
            int n = Options.ByteLevel ? SymbolsFromBytes(piece, rented) : SymbolsFromCodePoints(piece, rented);
            if (n < 0) return [-n - 1]; // whole piece found in the vocabulary (ignore_merges)
            n = MergeEngine.Run(rented.AsSpan(0, n), new RankRule(_merges), forceQueue);
            return rented.AsSpan(0, n).ToArray();
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }

    // Returns the symbol count, or -(id + 1) when ignore_merges finds the whole piece in the vocabulary.
    private int SymbolsFromBytes(ReadOnlySpan<char> piece, int[] symbols)
    {
        int byteCount = Encoding.UTF8.GetByteCount(piece);
        byte[]? rentedBytes = byteCount > 1024 ? ArrayPool<byte>.Shared.Rent(byteCount) : null;
        Span<byte> bytes = rentedBytes is null ? stackalloc byte[byteCount] : rentedBytes.AsSpan(0, byteCount);
        try
        {
            Encoding.UTF8.GetBytes(piece, bytes); // lone surrogates become U+FFFD, as a UTF-8 encoder must
            if (Options.IgnoreMerges)
            {
                string mapped = ByteLevelAlphabet.FromBytes(bytes);
                if (_tokenToId.TryGetValue(mapped, out int whole)) return -whole - 1;
            }
            int n = 0;
            bool previousUnk = false;
            foreach (byte b in bytes)
            {
                int id = _byteLevelIds[b];
                if (id >= 0) { symbols[n++] = id; previousUnk = false; }
                else AddUnknown(symbols, ref n, ref previousUnk);
            }
            return n;
        }
        finally
        {
            if (rentedBytes is not null) ArrayPool<byte>.Shared.Return(rentedBytes);
        }
    }

    private int SymbolsFromCodePoints(ReadOnlySpan<char> piece, int[] symbols)
    {
        if (Options.IgnoreMerges && _tokenLookup.TryGetValue(piece, out int whole)) return -whole - 1;
        int n = 0;
        bool previousUnk = false;
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < piece.Length;)
        {
            var status = Rune.DecodeFromUtf16(piece[i..], out Rune rune, out int consumed);
            ReadOnlySpan<char> unit = status == System.Buffers.OperationStatus.Done ? piece.Slice(i, consumed) : "\uFFFD";
            i += consumed;
            if (_tokenLookup.TryGetValue(unit, out int id)) { symbols[n++] = id; previousUnk = false; continue; }
            if (Options.ByteFallback)
            {
                int len = rune.EncodeToUtf8(utf8);
                bool all = true;
                for (int k = 0; k < len; k++) all &= _byteFallbackIds[utf8[k]] >= 0;
                if (all)
                {
                    for (int k = 0; k < len; k++) symbols[n++] = _byteFallbackIds[utf8[k]];
                    previousUnk = false;
                    continue;
                }
            }
            AddUnknown(symbols, ref n, ref previousUnk);
        }
        return n;
    }

    // Hugging Face drops a character it cannot represent when the model has no unk token.
    private void AddUnknown(int[] symbols, ref int n, ref bool previousUnk)
    {
        if (UnkId is not int unk) return;
        if (!(Options.FuseUnk && previousUnk)) symbols[n++] = unk;
        previousUnk = true;
    }
}
