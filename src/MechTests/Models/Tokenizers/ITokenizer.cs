namespace MechTests.Models.Tokenizers;

/// <summary>Turns text into token ids and back. Implementations: byte-level BPE (GPT-2, tokenizer.json), llama2.c.</summary>
/// <example><code>
/// ITokenizer tok = Llama2cTokenizer.Load("models/stories260K/tok512.bin");
/// int[] ids = tok.Encode("Once upon a time", addBos: true);
/// string text = tok.Decode(ids);
/// </code></example>
public interface ITokenizer
{
    /// <summary>Number of token ids.</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, if the tokenizer has one.</summary>
    int? BosId { get; }

    /// <summary>End-of-sequence id, if the tokenizer has one.</summary>
    int? EosId { get; }

    /// <summary>Whether prompts for this model conventionally start with <see cref="BosId"/>.</summary>
    bool AddsBosByDefault { get; }

    /// <summary>Encodes <paramref name="text"/>; prepends BOS when <paramref name="addBos"/> and one exists.</summary>
    int[] Encode(string text, bool addBos);

    /// <summary>
    /// Encodes a continuation fragment (e.g. an answer " Lily") exactly as it would be tokenized after preceding text:
    /// no BOS and no dummy-prefix space.
    /// </summary>
    int[] EncodeContinuation(string text);

    /// <summary>Decodes ids to text (special tokens are skipped).</summary>
    string Decode(IEnumerable<int> ids);

    /// <summary>The text of one token as it would appear after <paramref name="previous"/> in a stream.</summary>
    string DecodeToken(int id, int? previous = null);

    /// <summary>The raw vocabulary string of a token id (for display), e.g. <c>Ġworld</c> or <c>▁Lily</c>.</summary>
    string TokenString(int id);

    /// <summary>Looks up a vocabulary string exactly; null when absent.</summary>
    int? TokenId(string tokenString);
}
