using MechTests.Models.Tokenizers;

namespace MechTests.Models;

/// <summary>A model read from disk: its configuration, weights (held once), tokenizer if one was found, and identity.</summary>
/// <example><code>
/// LoadedModel m = ModelLoader.Load("models/stories260K/stories260K.bin");
/// Console.WriteLine($"{m.Config.Architecture} {m.Config.NLayers} layers, sha256 {m.WeightsSha256}");
/// </code></example>
public sealed class LoadedModel
{
    /// <summary>Shape and behaviour.</summary>
    public required ModelConfig Config { get; init; }
    /// <summary>Weights in the engine's canonical layout.</summary>
    public required ModelWeights Weights { get; init; }
    /// <summary>The tokenizer found next to the weights, or null.</summary>
    public ITokenizer? Tokenizer { get; init; }
    /// <summary>The file or folder the model was loaded from.</summary>
    public required string SourcePath { get; init; }
    /// <summary>Lower-case hex SHA-256 of the weights file's bytes, so a circuit cannot be checked against the wrong model.</summary>
    public required string WeightsSha256 { get; init; }
}
