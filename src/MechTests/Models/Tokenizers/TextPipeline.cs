using System.Text;

namespace MechTests.Models.Tokenizers;

/// <summary>A stretch of text on its way to BPE; <see cref="AtTextStart"/> says it begins the whole input.</summary>
internal readonly record struct Piece(ReadOnlyMemory<char> Text, bool AtTextStart);

/// <summary>One Hugging Face normalizer step.</summary>
internal abstract class NormalizerStep
{
    /// <summary>
    /// Applies the step. <paramref name="allowPrefix"/> is false for the start of a continuation fragment, where a
    /// dummy-prefix step must not insert its "▁".
    /// </summary>
    public abstract string Apply(string text, bool allowPrefix);

    /// <summary>True for steps that insert SentencePiece's dummy prefix.</summary>
    public virtual bool AddsDummyPrefix => false;
}

/// <summary>Unicode normalization (NFC, NFD, NFKC, NFKD).</summary>
internal sealed class UnicodeFormStep(NormalizationForm form) : NormalizerStep
{
    public override string Apply(string text, bool allowPrefix) => UnicodeNormalization.Normalize(text, form);
}

/// <summary>Lower-cases with invariant (culture-free) rules.</summary>
internal sealed class LowercaseStep : NormalizerStep
{
    public override string Apply(string text, bool allowPrefix) => text.ToLowerInvariant();
}

/// <summary>Prepends a string to non-empty text (Llama's legacy dummy prefix: <c>Prepend("▁")</c>).</summary>
internal sealed class PrependStep(string prefix) : NormalizerStep
{
    public override bool AddsDummyPrefix => true;
    public override string Apply(string text, bool allowPrefix) => allowPrefix && text.Length > 0 ? prefix + text : text;
}

/// <summary>Replaces every occurrence of a literal string or of a regex match with a literal string.</summary>
internal sealed class ReplaceStep(string? literal, CodePointRegex? regex, string content) : NormalizerStep
{
    public override string Apply(string text, bool allowPrefix)
    {
        if (literal is not null) return literal.Length == 0 ? text : text.Replace(literal, content, StringComparison.Ordinal);
        var matches = new List<(int Start, int Length)>();
        regex!.Matches(text, matches);
        if (matches.Count == 0) return text;
        var sb = new StringBuilder(text.Length);
        int at = 0;
        foreach (var (start, length) in matches)
        {
            sb.Append(text, at, start - at).Append(content);
            at = start + length;
        }
        return sb.Append(text, at, text.Length - at).ToString();
    }
}

/// <summary>Strips whitespace from either end.</summary>
internal sealed class StripStep(bool left, bool right) : NormalizerStep
{
    public override string Apply(string text, bool allowPrefix) =>
        left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
}

/// <summary>How a split pattern's matches are kept (Hugging Face <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior
{
    /// <summary>Matches become pieces of their own.</summary>
    Isolated,
    /// <summary>Matches are dropped.</summary>
    Removed,
    /// <summary>A match joins the piece before it.</summary>
    MergedWithPrevious,
    /// <summary>A match joins the piece after it.</summary>
    MergedWithNext,
    /// <summary>Runs of adjacent matches become one piece.</summary>
    Contiguous,
}

/// <summary>One Hugging Face pre-tokenizer step: cuts pieces into smaller pieces.</summary>
internal abstract class PreTokenizerStep
{
    /// <summary>Splits <paramref name="piece"/>; <paramref name="allowPrefix"/> as for <see cref="NormalizerStep.Apply"/>.</summary>
    public abstract void Split(Piece piece, bool allowPrefix, List<Piece> output);

    /// <summary>Cuts <paramref name="piece"/> at <paramref name="matches"/>, keeping them as <paramref name="behavior"/> says.</summary>
    protected static void SplitAt(Piece piece, List<(int Start, int Length)> matches, SplitBehavior behavior, bool invert,
        List<Piece> output)
    {
        ReadOnlyMemory<char> text = piece.Text;
        // Cover the text with alternating (gap, match) ranges, as Hugging Face's find_matches does.
        var ranges = new List<(int Start, int End, bool IsMatch)>(matches.Count * 2 + 1);
        int at = 0;
        foreach (var (start, length) in matches)
        {
            if (start > at) ranges.Add((at, start, invert));
            ranges.Add((start, start + length, !invert));
            at = start + length;
        }
        if (at < text.Length || ranges.Count == 0) ranges.Add((at, text.Length, invert));

        var kept = new List<(int Start, int End)>(ranges.Count);
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var r in ranges) kept.Add((r.Start, r.End));
                break;
            case SplitBehavior.Removed:
                foreach (var r in ranges) if (!r.IsMatch) kept.Add((r.Start, r.End));
                break;
            case SplitBehavior.MergedWithPrevious:
            {
                bool previousMatch = false;
                foreach (var r in ranges)
                {
                    if (r.IsMatch && !previousMatch && kept.Count > 0) kept[^1] = (kept[^1].Start, r.End);
                    else kept.Add((r.Start, r.End));
                    previousMatch = r.IsMatch;
                }
                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                bool nextMatch = false;
                for (int k = ranges.Count - 1; k >= 0; k--)
                {
                    var r = ranges[k];
                    if (r.IsMatch && !nextMatch && kept.Count > 0) kept[^1] = (r.Start, kept[^1].End);
                    else kept.Add((r.Start, r.End));
                    nextMatch = r.IsMatch;
                }
                kept.Reverse();
                break;
            }
            case SplitBehavior.Contiguous:
            {
                bool previousMatch = false;
                foreach (var r in ranges)
                {
                    if (r.IsMatch && previousMatch && kept.Count > 0) kept[^1] = (kept[^1].Start, r.End);
                    else kept.Add((r.Start, r.End));
                    previousMatch = r.IsMatch;
                }
                break;
            }
        }
        foreach (var (start, end) in kept)
            if (end > start) output.Add(new Piece(text[start..end], piece.AtTextStart && start == 0));
    }
}

/// <summary>Splits on a regex or literal (Hugging Face <c>Split</c>).</summary>
internal sealed class RegexSplitStep(CodePointRegex regex, SplitBehavior behavior, bool invert) : PreTokenizerStep
{
    public override void Split(Piece piece, bool allowPrefix, List<Piece> output)
    {
        var matches = new List<(int Start, int Length)>();
        regex.Matches(piece.Text.Span, matches);
        SplitAt(piece, matches, behavior, invert, output);
    }
}

/// <summary>
/// GPT-2's byte-level pre-tokenizer: optionally prefixes a space, then splits with the GPT-2 regex. The byte →
/// character mapping itself happens when the BPE model reads the piece.
/// </summary>
internal sealed class ByteLevelStep(bool addPrefixSpace, bool useRegex) : PreTokenizerStep
{
    public bool AddPrefixSpace => addPrefixSpace;

    public override void Split(Piece piece, bool allowPrefix, List<Piece> output)
    {
        if (addPrefixSpace && allowPrefix && !piece.Text.Span.StartsWith(' '))
            piece = piece with { Text = (" " + piece.Text.Span.ToString()).AsMemory() };
        if (!useRegex) { output.Add(piece); return; }
        var matches = new List<(int Start, int Length)>();
        CodePointRegex.Gpt2.Matches(piece.Text.Span, matches);
        SplitAt(piece, matches, SplitBehavior.Isolated, invert: false, output);
    }
}

/// <summary>When a Metaspace pre-tokenizer inserts its dummy prefix.</summary>
internal enum PrependScheme
{
    /// <summary>Before every piece.</summary>
    Always,
    /// <summary>Only before the piece that starts the input.</summary>
    First,
    /// <summary>Never.</summary>
    Never,
}

/// <summary>
/// SentencePiece's whitespace handling (Hugging Face <c>Metaspace</c>): spaces become "▁", a "▁" is prepended per
/// <see cref="PrependScheme"/> unless the piece already starts with one, and optionally the text is split before
/// each "▁".
/// </summary>
internal sealed class MetaspaceStep(char replacement, PrependScheme scheme, bool split) : PreTokenizerStep
{
    public char Replacement => replacement;
    public PrependScheme Scheme => scheme;

    public override void Split(Piece piece, bool allowPrefix, List<Piece> output)
    {
        string text = piece.Text.Span.ToString().Replace(' ', replacement);
        bool prepend = allowPrefix && text.Length > 0 && text[0] != replacement
            && (scheme == PrependScheme.Always || (scheme == PrependScheme.First && piece.AtTextStart));
        if (prepend) text = replacement + text;
        var replaced = new Piece(text.AsMemory(), piece.AtTextStart);
        if (!split) { output.Add(replaced); return; }
        var matches = new List<(int Start, int Length)>();
        for (int i = 0; i < text.Length; i++) if (text[i] == replacement) matches.Add((i, 1));
        SplitAt(replaced, matches, SplitBehavior.MergedWithNext, invert: false, output);
    }
}
