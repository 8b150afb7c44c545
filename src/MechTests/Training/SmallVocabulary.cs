using System.Text;
using System.Text.Json;

namespace MechTests.Training;

/// <summary>
/// A tiny GPT-2 byte-level BPE vocabulary built from a list of base symbols and whole words: each word gets the chain of
/// merges that builds it left to right (<c>Ġ w</c>, <c>Ġw a</c>, <c>Ġwa r</c>), so it encodes to one token while every
/// other text falls back to its characters. Written as <c>vocab.json</c> + <c>merges.txt</c>, which the project's
/// tokenizer and transformers' <c>GPT2Tokenizer</c> both read. <c>&lt;|endoftext|&gt;</c> is the last id (BOS and EOS).
/// </summary>
/// <example><code>
/// var vocab = new SmallVocabulary(["T", "h", "e"], ["The"]);   // ids: T h e Th The &lt;|endoftext|&gt;
/// vocab.Write("models/x");
/// </code></example>
public sealed class SmallVocabulary
{
    /// <summary>GPT-2's end-of-text token, used as BOS.</summary>
    public const string EndOfText = "<|endoftext|>";

    private readonly List<string> _tokens = [];
    private readonly List<(string Left, string Right)> _merges = [];

    /// <summary>
    /// Builds the vocabulary: <paramref name="symbols"/> first (in GPT-2's byte alphabet: a space is <c>Ġ</c>), then
    /// the tokens each word's merge chain creates, in merge order, then <c>&lt;|endoftext|&gt;</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A word uses a symbol not in <paramref name="symbols"/>, or a symbol repeats.</exception>
    public SmallVocabulary(IEnumerable<string> symbols, IEnumerable<string> words)
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in symbols)
        {
            if (!known.Add(s)) throw new ArgumentException($"Symbol '{s}' is listed twice.");
            _tokens.Add(s);
        }
        foreach (var word in words)
        {
            var parts = Enumerable.Range(0, word.Length).Select(i => word[i].ToString()).ToArray();
            foreach (var p in parts)
                if (!known.Contains(p)) throw new ArgumentException($"Word '{word}' uses '{p}', which is not a symbol.");
            string left = parts[0];
            for (int i = 1; i < parts.Length; i++)
            {
                string merged = left + parts[i];
                if (known.Add(merged))
                {
                    _merges.Add((left, parts[i]));
                    _tokens.Add(merged);
                }
                left = merged;
            }
        }
        _tokens.Add(EndOfText);
    }

    /// <summary>Tokens by id.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>Merge rules in rank order.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => _merges;

    /// <summary>Number of tokens, <c>&lt;|endoftext|&gt;</c> included.</summary>
    public int Count => _tokens.Count;

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c> (the last one).</summary>
    public int EndOfTextId => _tokens.Count - 1;

    /// <summary>The id of a token (in the byte alphabet: <c>"Ġ17"</c>).</summary>
    /// <exception cref="KeyNotFoundException">Not in the vocabulary.</exception>
    public int Id(string token)
    {
        int id = _tokens.IndexOf(token);
        return id >= 0 ? id : throw new KeyNotFoundException($"'{token}' is not in the vocabulary.");
    }

    /// <summary>Writes <c>vocab.json</c> (token → id, in id order) and <c>merges.txt</c> into <paramref name="folder"/>.</summary>
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        using (var ms = new MemoryStream())
        {
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                for (int i = 0; i < _tokens.Count; i++) w.WriteNumber(_tokens[i], i);
                w.WriteEndObject();
            }
            byte[] bytes = [.. ms.ToArray(), (byte)'\n'];
            AtomicFile.Write(Path.Combine(folder, "vocab.json"), stream => stream.Write(bytes));
        }
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (l, r) in _merges) merges.Append(l).Append(' ').Append(r).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(folder, "merges.txt"), merges.ToString());
    }
}
