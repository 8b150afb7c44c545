namespace MechTests.Models.Tokenizers;

/// <summary>
/// Turns generated ids into text as they arrive, exactly: the pieces it returns concatenate to
/// <c>tokenizer.Decode(allIds)</c>, even when a character's UTF-8 bytes are spread over several tokens (an emoji
/// as four <c>&lt;0xXX&gt;</c> tokens). Text is held back while it ends in U+FFFD, which is how an unfinished
/// character decodes; a genuine U+FFFD at the end is released with the next token that ends cleanly, or by
/// <see cref="Flush"/>. Not thread-safe; use one per stream.
/// </summary>
/// <example><code>
/// var stream = new TokenStreamDecoder(tokenizer);
/// foreach (int id in generatedIds) Console.Write(stream.Push(id));
/// Console.Write(stream.Flush());
/// </code></example>
public sealed class TokenStreamDecoder
{
    private readonly ITokenizer _tokenizer;
    private readonly List<int> _window = new();
    private int _emitted; // characters of Decode(_window) already returned

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
        // Releasing text that ends in U+FFFD could cut a character whose last bytes are still to come; its
        // replacement character would then be emitted and the real character lost.
        if (text.EndsWith('\uFFFD')) return "";
        string fresh = text.Length > _emitted ? text[_emitted..] : "";
        // Keep the last id as context: decoding depends on the previous token (space after BOS, split characters).
        _window.RemoveRange(0, _window.Count - 1);
        _emitted = _tokenizer.Decode(_window).Length;
        return fresh;
    }

    /// <summary>Returns whatever is still held back (an unfinished character decodes as U+FFFD) and resets.</summary>
    public string Flush()
    {
        string text = _tokenizer.Decode(_window);
        string rest = text.Length > _emitted ? text[_emitted..] : "";
        _window.Clear();
        _emitted = 0;
        return rest;
    }
}
