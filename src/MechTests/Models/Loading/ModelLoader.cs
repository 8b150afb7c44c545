using System.Security.Cryptography;
using MechTests.Models.Tokenizers;

namespace MechTests.Models.Loading;

/// <summary>
/// The one entry point for reading a model from disk: a directory is a Hugging Face folder
/// (<see cref="HuggingFaceLoader"/>), a <c>.bin</c> file is a llama2.c checkpoint (<see cref="Llama2cLoader"/>).
/// </summary>
/// <remarks>
/// <see cref="LoadedModel.WeightsSha256"/> is the SHA-256 of the weight file's bytes: <c>model.safetensors</c> for a
/// Hugging Face folder, the <c>.bin</c> itself for llama2.c. For a sharded checkpoint it is one SHA-256 over the bytes
/// of <c>model.safetensors.index.json</c> followed by each shard's bytes, shards in ordinal order of file name (see
/// <see cref="LoadedWeights.WeightFiles"/>). <c>config.json</c> is not hashed.
/// </remarks>
public static class ModelLoader
{
    /// <summary>Loads the model at <paramref name="path"/> with its tokenizer (if found) and weights hash.</summary>
    /// <example><code>
    /// LoadedModel m = ModelLoader.Load("models/stories260K/stories260K.bin");
    /// Console.WriteLine($"{m.Config.Architecture} d_model={m.Config.DModel} sha256={m.WeightsSha256}");
    /// </code></example>
    public static LoadedModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        LoadedWeights loaded;
        if (Directory.Exists(path))
            loaded = HuggingFaceLoader.Load(path);
        else if (File.Exists(path) && string.Equals(Path.GetExtension(path), ".bin", StringComparison.OrdinalIgnoreCase))
            loaded = Llama2cLoader.Load(path);
        else if (File.Exists(path))
            throw new InvalidDataException($"{path}: not a model this loader understands; pass a Hugging Face model folder " +
                "(config.json + model.safetensors) or a llama2.c .bin checkpoint.");
        else
            throw new FileNotFoundException($"{path}: no such file or directory.", path);

        return new LoadedModel
        {
            Config = loaded.Config,
            Weights = loaded.Weights,
            Tokenizer = LoadTokenizer(path),
            SourcePath = path,
            WeightsSha256 = Sha256Hex(loaded.WeightFiles),
        };
    }

    /// <summary>
    /// Lower-case hex SHA-256 over the bytes of <paramref name="files"/> concatenated in order, read streaming so no
    /// file is held in memory.
    /// </summary>
    public static string Sha256Hex(IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
                hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static ITokenizer? LoadTokenizer(string path)
    {
        return TokenizerLoader.ForModelPath(path);
    }
}
