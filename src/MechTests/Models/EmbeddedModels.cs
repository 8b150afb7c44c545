using MechTests.Models.Loading;

namespace MechTests.Models;

/// <summary>
/// The models that travel with MechTests: stories260K (Karpathy's llama2.c tinyllamas, MIT, 1 MB), copied next to
/// every assembly that references the MechTests package or project (<c>models/stories260K/</c>), so a test can claim
/// something about a real language model with no download.
/// </summary>
/// <example><code>
/// var model = EmbeddedModels.LoadStories260K();
/// var file = CircuitFile.Read("circuits/name-copy.json");
/// file.Should().BeFaithful(model, atLeast: 0.85);
/// </code></example>
public static class EmbeddedModels
{
    /// <summary>Where stories260K is next to the running application: <c>{AppContext.BaseDirectory}/models/stories260K/stories260K.bin</c>.</summary>
    public static string Stories260KPath => Path.Combine(AppContext.BaseDirectory, "models", "stories260K", "stories260K.bin");

    /// <summary>Loads stories260K (weights, config and its 512-token tokenizer); each call returns a fresh copy.</summary>
    /// <exception cref="FileNotFoundException">The model files were not copied to the output folder.</exception>
    public static LoadedModel LoadStories260K()
    {
        if (!File.Exists(Stories260KPath))
            throw new FileNotFoundException($"The embedded model is missing: {Stories260KPath}. It is copied to the output folder by the MechTests package (its buildTransitive targets copy models/stories260K/ to the output); check that the project references MechTests and was built.", Stories260KPath);
        return ModelLoader.Load(Stories260KPath);
    }
}
