namespace MechTests.Models.Loading;

/// <summary>What a format loader produces: validated config and weights, plus the files they came from (in hashing order).</summary>
/// <param name="Config">The validated configuration.</param>
/// <param name="Weights">Weights in the canonical layout, checked against <paramref name="Config"/>.</param>
/// <param name="WeightFiles">The files whose bytes make up the model's identity, in the order they are hashed.</param>
public sealed record LoadedWeights(ModelConfig Config, ModelWeights Weights, IReadOnlyList<string> WeightFiles);
