namespace MechTests.Models.Tokenizers;

/// <summary>
/// The encoding pipeline of a Hugging Face style BPE tokenizer, shared by <see cref="ByteLevelBpeTokenizer"/> and
/// <see cref="SentencePieceBpeTokenizer"/>: added tokens are cut out of the raw text, the rest is normalized, cut
/// again at normalized added tokens, pre-tokenized, and each piece goes through BPE. Immutable and thread-safe.
/// </summary>
internal sealed class HfTokenizerCore
{
    private readonly AddedTokenMatcher _rawAdded;
    private readonly AddedTokenMatcher _normalizedAdded;
    private readonly Dictionary<int, AddedToken> _addedById = new();
    private readonly Dictionary<string, AddedToken> _addedByContent = new(StringComparer.Ordinal);

    public HfTokenizerCore(BpeModel model, IReadOnlyList<AddedToken> addedTokens, IReadOnlyList<NormalizerStep> normalizer,
        IReadOnlyList<PreTokenizerStep> preTokenizers)
    {
        Model = model;
        Normalizer = normalizer;
        PreTokenizers = preTokenizers;
        foreach (AddedToken t in addedTokens)
        {
            if (t.Id < 0 || t.Id > BpeModel.MaxId)
                throw new InvalidDataException($"{model.Source}: added token '{BpeModel.Show(t.Content)}' has id {t.Id}, out of range (expected 0..{BpeModel.MaxId}).");
            if (_addedById.TryGetValue(t.Id, out AddedToken? other) && other.Content != t.Content)
                throw new InvalidDataException($"{model.Source}: added token id {t.Id} is used by both '{BpeModel.Show(other.Content)}' and '{BpeModel.Show(t.Content)}'.");
            _addedById[t.Id] = t;
            _addedByContent.TryAdd(t.Content, t);
        }
        // As in Hugging Face: non-normalized tokens are cut from the raw text, normalized ones from the normalized
        // text, where their pattern is their normalized content. Without a normalizer one pass does both.
        bool hasNormalizer = normalizer.Count > 0;
        _rawAdded = new AddedTokenMatcher(addedTokens.Where(t => !hasNormalizer || !t.Normalized).Select(t => (t.Content, t)));
        _normalizedAdded = new AddedTokenMatcher(addedTokens.Where(t => hasNormalizer && t.Normalized)
            .Select(t => (Normalize(t.Content, allowPrefix: true), t)));
        VocabSize = Math.Max(model.IdCount, _addedById.Count == 0 ? 0 : _addedById.Keys.Max() + 1);
    }

    public BpeModel Model { get; }
    public IReadOnlyList<NormalizerStep> Normalizer { get; }
    public IReadOnlyList<PreTokenizerStep> PreTokenizers { get; }
    public int VocabSize { get; }
    public IEnumerable<AddedToken> AddedTokens => _addedById.Values;

    /// <summary>True for added tokens marked special (skipped when decoding).</summary>
    public bool IsSpecial(int id) => _addedById.TryGetValue(id, out AddedToken? t) && t.Special;

    /// <summary>True for any added token (its text is its content, not a BPE string).</summary>
    public bool IsAdded(int id, out string content)
    {
        if (_addedById.TryGetValue(id, out AddedToken? t)) { content = t.Content; return true; }
        content = "";
        return false;
    }

    /// <summary>The string of an id: an added token's content, else the vocabulary string, else null.</summary>
    public string? TokenOf(int id) => _addedById.TryGetValue(id, out AddedToken? t) ? t.Content : Model.TokenOf(id);

    /// <summary>Exact lookup: added tokens first (as Hugging Face does), then the vocabulary.</summary>
    public int? IdOf(string token) => _addedByContent.TryGetValue(token, out AddedToken? t) ? t.Id : Model.IdOf(token);

    /// <summary>
    /// Appends the ids of <paramref name="text"/> (no BOS). With <paramref name="continuation"/>, the stretch that
    /// starts the text gets no dummy prefix / prefix space, since in a longer text it would not be at the start.
    /// </summary>
    public void Encode(string text, bool continuation, List<int> ids)
    {
        if (text.Length == 0) return;
        var segments = new List<TextSegment>();
        _rawAdded.Split(text, segments);
        var pieces = new List<Piece>();
        var subSegments = new List<TextSegment>();
        foreach (TextSegment segment in segments)
        {
            if (segment.IsToken) { ids.Add(segment.TokenId); continue; }
            bool startsText = segment.Start == 0;
            bool allowPrefix = !(continuation && startsText);
            string part = Normalize(text.Substring(segment.Start, segment.Length), allowPrefix);
            if (part.Length == 0) continue;

            subSegments.Clear();
            if (_normalizedAdded.IsEmpty) subSegments.Add(new TextSegment(0, part.Length, -1));
            else _normalizedAdded.Split(part, subSegments);
            foreach (TextSegment sub in subSegments)
            {
                if (sub.IsToken) { ids.Add(sub.TokenId); continue; }
                var piece = new Piece(part.AsMemory(sub.Start, sub.Length), startsText && sub.Start == 0 && !continuation);
                EncodeWord(piece, allowPrefix || sub.Start > 0, pieces, ids);
            }
        }
    }

    private string Normalize(string text, bool allowPrefix)
    {
        foreach (NormalizerStep step in Normalizer) text = step.Apply(text, allowPrefix);
        return text;
    }

    private void EncodeWord(Piece word, bool allowPrefix, List<Piece> scratch, List<int> ids)
    {
        if (PreTokenizers.Count == 0) { Model.EncodePiece(word.Text.Span, ids); return; }
        var current = new List<Piece> { word };
        foreach (PreTokenizerStep step in PreTokenizers)
        {
            scratch.Clear();
            foreach (Piece p in current) step.Split(p, allowPrefix, scratch);
            (current, scratch) = (scratch, current);
        }
        foreach (Piece p in current) Model.EncodePiece(p.Text.Span, ids);
        scratch.Clear();
    }
}
