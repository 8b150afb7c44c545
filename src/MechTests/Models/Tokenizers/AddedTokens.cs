using System.Buffers;

namespace MechTests.Models.Tokenizers;

/// <summary>
/// A token matched verbatim in text before BPE runs (Hugging Face <c>added_tokens</c>), e.g. <c>&lt;|endoftext|&gt;</c>.
/// </summary>
/// <param name="Id">Its id.</param>
/// <param name="Content">The exact text that stands for it.</param>
/// <param name="Special">Special tokens (BOS, EOS, padding…) are control symbols: <c>Decode</c> skips them.</param>
/// <param name="SingleWord">Only match when not inside a word.</param>
/// <param name="LStrip">Whitespace just before a match belongs to the token.</param>
/// <param name="RStrip">Whitespace just after a match belongs to the token.</param>
/// <param name="Normalized">Matched in normalized text rather than in the raw input.</param>
internal sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord = false, bool LStrip = false,
    bool RStrip = false, bool Normalized = false);

/// <summary>A stretch of text: either plain text to tokenize, or one added token (<see cref="TokenId"/> ≥ 0).</summary>
internal readonly record struct TextSegment(int Start, int Length, int TokenId)
{
    public bool IsToken => TokenId >= 0;
}

/// <summary>Splits text around added tokens: leftmost match first, the longest one when several start there.</summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, (string Pattern, AddedToken Token)[]> _byFirstChar = new();
    private readonly SearchValues<char> _firstChars;

    /// <summary>Matches each token's <c>Pattern</c>: its content, or for normalized tokens its normalized content.</summary>
    public AddedTokenMatcher(IEnumerable<(string Pattern, AddedToken Token)> tokens)
    {
        foreach (var group in tokens.Where(t => t.Pattern.Length > 0).GroupBy(t => t.Pattern[0]))
            _byFirstChar[group.Key] = group.OrderByDescending(t => t.Pattern.Length).ThenBy(t => t.Token.Id).ToArray();
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    /// <summary>True when there is nothing to match.</summary>
    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Appends the segments of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Split(string text, List<TextSegment> output)
    {
        int pending = 0; // start of the plain text not yet emitted
        int i = 0;
        while (i < text.Length && !IsEmpty)
        {
            int skip = text.AsSpan(i).IndexOfAny(_firstChars);
            if (skip < 0) break;
            i += skip;
            var (length, match) = MatchAt(text, i);
            if (match is null) { i++; continue; }

            int start = i, end = i + length;
            if (match.LStrip) while (start > pending && char.IsWhiteSpace(text[start - 1])) start--;
            if (match.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > pending) output.Add(new TextSegment(pending, start - pending, -1));
            output.Add(new TextSegment(start, end - start, match.Id));
            pending = i = end;
        }
        if (pending < text.Length) output.Add(new TextSegment(pending, text.Length - pending, -1));
    }

    private (int Length, AddedToken? Token) MatchAt(string text, int i)
    {
        foreach (var (pattern, t) in _byFirstChar[text[i]])
        {
            if (!text.AsSpan(i).StartsWith(pattern, StringComparison.Ordinal)) continue;
            if (t.SingleWord)
            {
                int end = i + pattern.Length;
                if ((i > 0 && IsWordChar(text[i - 1])) || (end < text.Length && IsWordChar(text[end]))) continue;
            }
            return (pattern.Length, t);
        }
        return (0, null);
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
