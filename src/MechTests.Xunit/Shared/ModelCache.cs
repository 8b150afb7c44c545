using System.Collections.Concurrent;
using MechTests.Models;
using MechTests.Models.Loading;

namespace MechTests.Xunit;

/// <summary>
/// Loads each model once per test run and hands the same <see cref="LoadedModel"/> to every test that asks, from any
/// thread: xUnit runs test classes in parallel, and a model is loaded (and hashed) only by the first caller while the
/// others wait for it. Keyed by full path. A load that fails is not remembered, so the next caller tries again (and
/// gets the error again if the file is still bad). The loaded weights are shared: treat them as read-only.
/// </summary>
/// <example><code>
/// public class GptTests
/// {
///     [Fact]
///     public void NameCopyHolds()
///     {
///         LoadedModel model = ModelCache.Shared.Get("models/gpt2");   // loaded on first use, then shared
///         var received = CircuitPipeline.Rederive(CircuitFile.Read("circuits/name-copy.json"), model);
///     }
/// }
/// </code></example>
public sealed class ModelCache
{
    private readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _models = new(StringComparer.Ordinal);
    private readonly Func<string, LoadedModel> _load;
    private int _loads;

    /// <summary>A cache that loads with <paramref name="load"/> (default <see cref="ModelLoader.Load"/>).</summary>
    /// <example><code>
    /// var cache = new ModelCache();                                    // its own models, e.g. for one fixture
    /// var counting = new ModelCache(p => { Console.WriteLine($"loading {p}"); return ModelLoader.Load(p); });
    /// </code></example>
    public ModelCache(Func<string, LoadedModel>? load = null) => _load = load ?? ModelLoader.Load;

    /// <summary>The process-wide cache <see cref="CircuitCase"/>, <see cref="ModelFixture"/> and <see cref="CircuitVerification"/> use.</summary>
    /// <example><code>
    /// var model = ModelCache.Shared.Get(EmbeddedModels.Stories260KPath);
    /// </code></example>
    public static ModelCache Shared { get; } = new();

    /// <summary>How many times this cache has called its loader (successful or not); 1 per model when sharing works.</summary>
    /// <example><code>
    /// Parallel.For(0, 8, _ => cache.Get(path));
    /// Assert.Equal(1, cache.Loads);
    /// </code></example>
    public int Loads => Volatile.Read(ref _loads);

    /// <summary>The models loaded so far (full paths).</summary>
    /// <example><code>
    /// foreach (var path in ModelCache.Shared.LoadedPaths) output.WriteLine($"model: {path}");
    /// </code></example>
    public IReadOnlyList<string> LoadedPaths => _models.Where(kv => kv.Value.IsValueCreated).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The model at <paramref name="path"/> (resolved with <see cref="ModelLocator.Resolve"/> when relative), loaded on
    /// the first call; concurrent first calls wait for one load.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing exists at the path.</exception>
    /// <example><code>
    /// LoadedModel a = ModelCache.Shared.Get("models/stories260K/stories260K.bin");
    /// LoadedModel b = ModelCache.Shared.Get(Path.GetFullPath("models/stories260K/stories260K.bin"));
    /// Assert.Same(a, b);
    /// </code></example>
    public LoadedModel Get(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string key = Path.IsPathRooted(path) ? Path.GetFullPath(path) : ModelLocator.Resolve(path);
        var lazy = _models.GetOrAdd(key, k => new Lazy<LoadedModel>(() => Load(k), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // Forget the failed load (only this attempt's entry) so a later call retries instead of seeing a cached
            // exception forever; this caller still gets the error.
            _models.TryRemove(new KeyValuePair<string, Lazy<LoadedModel>>(key, lazy));
            throw;
        }
    }

    private LoadedModel Load(string path)
    {
        Interlocked.Increment(ref _loads);
        if (!ModelLocator.Exists(path)) throw new FileNotFoundException($"model not found: {path}", path);
        return _load(path);
    }
}

#if XUNIT_V3
/// <summary>
/// An xUnit v3 assembly fixture over <see cref="ModelCache.Shared"/>: the MechTests.Xunit.V3 package registers it
/// (<c>[assembly: AssemblyFixture(typeof(ModelFixture))]</c>, added to the build unless <c>MechTestsModelFixture</c> is
/// <c>false</c>), so any test class may take it in its constructor, with no <c>IClassFixture</c>. Class and collection
/// fixtures work as in xUnit v2. Every fixture shares the one cache, so a model is loaded once per test assembly
/// however many classes use it.
/// </summary>
/// <example><code>
/// public class NameCopyTests(ModelFixture models)
/// {
///     [CircuitFact]
///     public void TheEmbeddedModelHasFiveLayers() => Assert.Equal(5, models.Default.Config.NLayers);
/// }
/// </code></example>
#else
/// <summary>
/// An xUnit fixture over <see cref="ModelCache.Shared"/>: use it as a class fixture
/// (<c>IClassFixture&lt;ModelFixture&gt;</c>) or a collection fixture (<c>ICollectionFixture&lt;ModelFixture&gt;</c>
/// with a <c>[CollectionDefinition]</c> in your test assembly and <c>[Collection]</c> on every class). Every fixture
/// shares the one cache, so a model is loaded once per test assembly however many classes use it.
/// </summary>
/// <example><code>
/// public class NameCopyTests(ModelFixture models) : IClassFixture&lt;ModelFixture&gt;
/// {
///     [CircuitFact]
///     public void TheEmbeddedModelHasFiveLayers() => Assert.Equal(5, models.Default.Config.NLayers);
/// }
/// </code></example>
#endif
public sealed class ModelFixture
{
    /// <summary>A fixture over the shared cache (what xUnit calls).</summary>
    /// <example><code>
    /// var models = new ModelFixture();
    /// </code></example>
    public ModelFixture() : this(ModelCache.Shared) { }

    // xUnit creates fixtures only through their single public constructor; this one is for tests of the fixture.
    internal ModelFixture(ModelCache cache) => Cache = cache;

    /// <summary>The cache the fixture loads through.</summary>
    /// <example><code>
    /// int loads = models.Cache.Loads;
    /// </code></example>
    public ModelCache Cache { get; }

    /// <summary>The model tests use when they name none (<c>MECHTESTS_MODEL</c>, else the embedded stories260K).</summary>
    /// <example><code>
    /// var runs = TaskRuns.Create(new Transformer(models.Default.Config, models.Default.Weights), task);
    /// </code></example>
    public LoadedModel Default => Cache.Get(ModelLocator.Resolve(null));

    /// <summary>The model at <paramref name="path"/> (see <see cref="ModelLocator"/> for how relative paths are found).</summary>
    /// <example><code>
    /// LoadedModel gpt2 = models.Get("models/gpt2");
    /// </code></example>
    public LoadedModel Get(string path) => Cache.Get(ModelLocator.Resolve(path));
}
