using System.Collections.Concurrent;
using MechTests.Models;
using MechTests.Models.Loading;

namespace MechTests.Xunit;

/// <summary>
/// Loads each model file once per test process, however many tests and threads ask for it: the first caller loads,
/// the others wait for the same instance. Loaded models are shared, so treat their weights as read-only (clone them
/// with <c>model.Weights.DeepClone()</c> before fine-tuning).
/// </summary>
/// <example><code>
/// var model = ModelCache.Get("models/stories260K/stories260K.bin");   // loaded once, then cached
/// var same = ModelCache.Embedded;                                       // the model shipped with MechTests
/// </code></example>
public static class ModelCache
{
    private static readonly ConcurrentDictionary<string, Lazy<LoadedModel>> s_models = new(StringComparer.Ordinal);
    private static int s_loads;

    /// <summary>The model at <paramref name="path"/> (full path is the cache key), loaded on first use.</summary>
    /// <exception cref="FileNotFoundException">No such model file or folder; the message names the path.</exception>
    public static LoadedModel Get(string path)
    {
        string full = Path.GetFullPath(path);
        var lazy = s_models.GetOrAdd(full, p => new Lazy<LoadedModel>(() =>
        {
            if (!File.Exists(p) && !Directory.Exists(p))
                throw new FileNotFoundException($"Model not found: {p} (a llama2.c .bin or a Hugging Face model folder was expected).", p);
            Interlocked.Increment(ref s_loads);
            return ModelLoader.Load(p);
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        try { return lazy.Value; }
        catch { s_models.TryRemove(new KeyValuePair<string, Lazy<LoadedModel>>(full, lazy)); throw; } // let a later call retry
    }

    /// <summary>The embedded stories260K (<see cref="EmbeddedModels.Stories260KPath"/>), loaded once.</summary>
    public static LoadedModel Embedded => Get(EmbeddedModels.Stories260KPath);

    /// <summary>How many model files this process has loaded so far (a diagnostic: each path counts once).</summary>
    public static int Loads => Volatile.Read(ref s_loads);
}

/// <summary>
/// The shared model as an xUnit class or collection fixture, for tests that prefer constructor injection.
/// </summary>
/// <example><code>
/// public class NameCopyTests(ModelFixture models) : IClassFixture&lt;ModelFixture&gt;
/// {
///     [Fact] public void Copies() => models.Embedded.Config.NLayers.Should().Be(5);
/// }
/// </code></example>
public sealed class ModelFixture
{
    /// <summary>The embedded stories260K, shared by every test of the process.</summary>
    public LoadedModel Embedded => ModelCache.Embedded;

    /// <summary>Any model file, shared by every test of the process (see <see cref="ModelCache.Get"/>).</summary>
    public LoadedModel Get(string path) => ModelCache.Get(path);
}
