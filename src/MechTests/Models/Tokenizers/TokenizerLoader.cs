using System.Buffers.Binary;
using System.Text.Json;
using static MechTests.Models.Tokenizers.JsonFiles;

namespace MechTests.Models.Tokenizers;

/// <summary>Finds and loads the tokenizer that belongs to a model folder or file.</summary>
/// <example><code>
/// ITokenizer? tok = TokenizerLoader.ForModelPath("models/stories260K/stories260K.bin");   // tok512.bin next to it
/// ITokenizer? gpt2 = TokenizerLoader.FromFolder("models/gpt2-tokenizer");                // encoder.json + vocab.bpe
/// </code></example>
public static class TokenizerLoader
{
    /// <summary>
    /// Loads a Hugging Face <c>tokenizer.json</c> as a <see cref="ByteLevelBpeTokenizer"/> (ByteLevel pre-tokenizer)
    /// or a <see cref="SentencePieceBpeTokenizer"/> (Metaspace / "▁" normalizer / byte_fallback), whichever it is.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed or unsupported file; the message names it.</exception>
    /// <example><code>
    /// ITokenizer tok = TokenizerLoader.FromTokenizerJson("pythia-70m/tokenizer.json");
    /// </code></example>
    public static ITokenizer FromTokenizerJson(string path)
    {
        TokenizerJsonDefinition def = TokenizerJsonReader.Read(path);
        return def.IsByteLevel ? ByteLevelBpeTokenizer.FromDefinition(def) : SentencePieceBpeTokenizer.FromDefinition(def);
    }

    /// <summary>
    /// Loads the tokenizer in <paramref name="folder"/>, trying in order: <c>tokenizer.json</c>;
    /// <c>vocab.json</c> + <c>merges.txt</c>; <c>encoder.json</c> + <c>vocab.bpe</c>; llama2.c's <c>tokenizer.bin</c>;
    /// a single <c>tok*.bin</c>. For the Hugging Face kinds, <c>tokenizer_config.json</c> (<c>bos_token</c>,
    /// <c>eos_token</c>, <c>add_bos_token</c>) and then <c>config.json</c> (<c>bos_token_id</c>, <c>eos_token_id</c>)
    /// override BOS/EOS. Returns null when the folder has none of these (a SentencePiece <c>tokenizer.model</c> alone
    /// is not read).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">A tokenizer or config file is malformed; the message names it.</exception>
    /// <example><code>
    /// ITokenizer? tok = TokenizerLoader.FromFolder("models/pythia-70m");
    /// </code></example>
    public static ITokenizer? FromFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Tokenizer folder not found: {folder}");
        string Path(string name) => System.IO.Path.Combine(folder, name);

        ITokenizer? tokenizer = null;
        if (File.Exists(Path("tokenizer.json"))) tokenizer = FromTokenizerJson(Path("tokenizer.json"));
        else if (File.Exists(Path("vocab.json")) && File.Exists(Path("merges.txt")))
            tokenizer = ByteLevelBpeTokenizer.FromVocabAndMerges(Path("vocab.json"), Path("merges.txt"));
        else if (File.Exists(Path("encoder.json")) && File.Exists(Path("vocab.bpe")))
            tokenizer = ByteLevelBpeTokenizer.FromVocabAndMerges(Path("encoder.json"), Path("vocab.bpe"));
        else if (File.Exists(Path("tokenizer.bin"))) return Llama2cTokenizer.Load(Path("tokenizer.bin"));
        else
        {
            string[] tokFiles = Directory.GetFiles(folder, "tok*.bin");
            return tokFiles.Length == 1 ? Llama2cTokenizer.Load(tokFiles[0]) : null;
        }
        ApplyConfigs(tokenizer, folder);
        return tokenizer;
    }

    /// <summary>
    /// The tokenizer for a model path: for a folder, <see cref="FromFolder"/>; for a llama2.c checkpoint
    /// (<c>.bin</c>), the <c>tok{vocab_size}.bin</c> or <c>tokenizer.bin</c> next to it, with vocab_size read from
    /// the checkpoint header (7 little-endian int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
    /// seq_len; a negative vocab_size means unshared classifier weights); for any other file (or a <c>.bin</c> that
    /// has no such header or no such neighbour), the tokenizer in its folder. Null when none is found.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">A tokenizer file is malformed; the message names the file.</exception>
    /// <example><code>
    /// ITokenizer? tok = TokenizerLoader.ForModelPath("models/stories260K/stories260K.bin");   // Llama2cTokenizer, 512 ids
    /// </code></example>
    public static ITokenizer? ForModelPath(string path)
    {
        if (Directory.Exists(path)) return FromFolder(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model path not found: {path}", path);
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        // A .bin that is not a llama2.c checkpoint (e.g. pytorch_model.bin) falls through to its folder.
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) && TryReadLlama2cVocabSize(path) is int vocabSize)
        {
            foreach (string name in new[] { $"tok{vocabSize}.bin", "tokenizer.bin" })
            {
                string candidate = System.IO.Path.Combine(folder, name);
                if (File.Exists(candidate) && !SamePath(candidate, path)) return Llama2cTokenizer.Load(candidate, vocabSize);
            }
        }
        return FromFolder(folder);
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(System.IO.Path.GetFullPath(a), System.IO.Path.GetFullPath(b), StringComparison.Ordinal);

    private static int? TryReadLlama2cVocabSize(string path)
    {
        try
        {
            return ReadLlama2cVocabSize(path);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>abs(vocab_size) from a llama2.c checkpoint header.</summary>
    /// <exception cref="InvalidDataException">The file is shorter than the header or vocab_size is implausible.</exception>
    internal static int ReadLlama2cVocabSize(string path)
    {
        Span<byte> header = stackalloc byte[28];
        using (FileStream f = File.OpenRead(path))
        {
            if (f.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
                throw new InvalidDataException($"{path}: expected a 28-byte llama2.c header (7 int32) but the file is shorter.");
        }
        long vocab = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(header[20..]));
        if (vocab == 0 || vocab > BpeModel.MaxId)
            throw new InvalidDataException($"{path}: header vocab_size is {vocab}; expected 1..{BpeModel.MaxId} (is this a llama2.c checkpoint?).");
        return (int)vocab;
    }

    private static void ApplyConfigs(ITokenizer tokenizer, string folder)
    {
        int? bos = tokenizer.BosId, eos = tokenizer.EosId;
        bool addBos = tokenizer.AddsBosByDefault;
        bool bosFromTokenizerConfig = false, eosFromTokenizerConfig = false;

        string tokenizerConfig = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig))
        {
            using JsonDocument doc = Parse(tokenizerConfig);
            JsonElement root = doc.RootElement;
            if (SpecialTokenText(tokenizerConfig, root, "bos_token") is { } bosText)
            {
                bos = Lookup(tokenizer, tokenizerConfig, "bos_token", bosText);
                bosFromTokenizerConfig = true;
            }
            if (SpecialTokenText(tokenizerConfig, root, "eos_token") is { } eosText)
            {
                eos = Lookup(tokenizer, tokenizerConfig, "eos_token", eosText);
                eosFromTokenizerConfig = true;
            }
            if (OptionalBool(tokenizerConfig, root, "add_bos_token", "") is bool add) addBos = add;
        }

        string modelConfig = Path.Combine(folder, "config.json");
        if (File.Exists(modelConfig))
        {
            using JsonDocument doc = Parse(modelConfig);
            JsonElement root = doc.RootElement;
            if (!bosFromTokenizerConfig && ConfigId(modelConfig, root, "bos_token_id", tokenizer.VocabSize) is int b) bos = b;
            if (!eosFromTokenizerConfig && ConfigId(modelConfig, root, "eos_token_id", tokenizer.VocabSize) is int e) eos = e;
        }

        switch (tokenizer)
        {
            case ByteLevelBpeTokenizer bl: bl.SetSpecialTokens(bos, eos, addBos); break;
            case SentencePieceBpeTokenizer sp: sp.SetSpecialTokens(bos, eos, addBos); break;
        }
    }

    // bos_token is a string or an AddedToken object {"content": …}.
    private static string? SpecialTokenText(string path, JsonElement root, string name)
    {
        if (Optional(root, name) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object => Require(path, v, "content", name, JsonValueKind.String).GetString(),
            _ => throw new InvalidDataException($"{path}: {name} must be a string or an object with \"content\"."),
        };
    }

    private static int Lookup(ITokenizer tokenizer, string path, string name, string text) =>
        tokenizer.TokenId(text)
        ?? throw new InvalidDataException($"{path}: {name} '{BpeModel.Show(text)}' is not in the tokenizer's vocabulary.");

    // bos_token_id / eos_token_id: an integer or a list of integers (the first is used).
    private static int? ConfigId(string path, JsonElement root, string name, int vocabSize)
    {
        if (Optional(root, name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Array)
        {
            if (v.GetArrayLength() == 0) return null;
            v = v[0];
        }
        int id = Int(path, v, name);
        if (id < 0 || id >= vocabSize)
            throw new InvalidDataException($"{path}: {name} {id} is out of range for the tokenizer (vocabulary size {vocabSize}).");
        return id;
    }
}
