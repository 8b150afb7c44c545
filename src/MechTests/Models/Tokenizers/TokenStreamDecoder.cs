namespace MechTests.Models.Tokenizers;

/// <summary>
/// Turns generated ids into text as they arrive, exactly: the pieces it returns concatenate to
/// <c>tokenizer.Decode(allIds)</c>, even when a character's UTF-8 bytes are spread over several tokens (an emoji
/// as four <c>&lt;0xXX&gt;</c> tokens). Text is held back while it ends in an unfinished character.
/// Not thread-safe; use one per stream.
/// </summary>
/// <example><code>
/// var stream = new TokenStreamDecoder(tokenizer);
/// foreach (int id in generatedIds) Console.Write(stream.Push(id));
/// Console.Write(stream.Flush());
/// </code></example>
public sealed class TokenStreamDecoder
{
    // No UTF-8 character needs more than 4 tokens; past that, a trailing U+FFFD is real text, not a pending character.
    private const int MaxPending = 4;

    private readonly ITokenizer _tokenizer;
    private readonly List<int> _window = new();
    private int _emitted;     // characters of Decode(_window) already returned
    private bool _hasContext; // the window starts with one already-emitted id kept as context

    /// <summary>Creates a decoder for one stream of ids from <paramref name="tokenizer"/>.</summary>
    public TokenStreamDecoder(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
    }

    /// <summary>Adds the next id and returns the text that is now complete (possibly empty).</summary>
    public string Push(int id)
    {
        _window.Add(id);
        string text = _tokenizer.Decode(_window);
        int pending = _window.Count - (_hasContext ? 1 : 0);
        if (text.EndsWith('\uFFFD') && pending < MaxPending) return "";
        string fresh = text.Length > _emitted ? text[_emitted..] : "";
        // Keep the last id as context: decoding depends on the previous token (space after BOS, split characters).
        _window.RemoveRange(0, _window.Count - 1);
        _emitted = _tokenizer.Decode(_window).Length;
        _hasContext = true;
        return fresh;
    }

    /// <summary>Returns whatever is still held back (an unfinished character decodes as U+FFFD) and resets.</summary>
    public string Flush()
    {
        string text = _tokenizer.Decode(_window);
        string rest = text.Length > _emitted ? text[_emitted..] : "";
        _window.Clear();
        _emitted = 0;
        _hasContext = false;
        return rest;
    }
}
