using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Xunit.Tests.Samples;
using Xunit;

namespace MechTests.Xunit.Tests;

/// <summary>The model cache and fixtures: one load per model under parallel first use, failures not cached.</summary>
public class ModelCacheTests
{
    [Fact]
    public void ConcurrentFirstCallsLoadTheModelOnceAndShareIt()
    {
        int calls = 0;
        var cache = new ModelCache(p =>
        {
            Interlocked.Increment(ref calls);
            Thread.Sleep(100); // widen the window in which the other threads ask for the same model
            return ModelLoader.Load(p);
        });
        const int threads = 16;
        var got = new LoadedModel[threads];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            got[i] = cache.Get(EmbeddedModels.Stories260KPath);
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());

        Assert.Equal(1, calls);
        Assert.Equal(1, cache.Loads);
        Assert.All(got, m => Assert.Same(got[0], m));
        // The same file by another spelling of its path is the same entry.
        string dotted = Path.Combine(Path.GetDirectoryName(EmbeddedModels.Stories260KPath)!, ".", Path.GetFileName(EmbeddedModels.Stories260KPath));
        Assert.Same(got[0], cache.Get(dotted));
        Assert.Equal(1, cache.Loads);
        Assert.Equal([EmbeddedModels.Stories260KPath], cache.LoadedPaths);
        // And it is the real model: the weights hash of the file as loaded directly.
        Assert.Equal(Stories.Model.WeightsSha256, got[0].WeightsSha256);
    }

    [Fact]
    public void AFailedLoadIsNotRememberedSoTheNextCallRetries()
    {
        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "model.bin");
        var cache = new ModelCache();

        Assert.Throws<FileNotFoundException>(() => cache.Get(path));
        Assert.Equal(1, cache.Loads);
        File.Copy(EmbeddedModels.Stories260KPath, path);
        var model = cache.Get(path);
        Assert.Equal(2, cache.Loads);
        Assert.Same(model, cache.Get(path));
        Assert.Equal(2, cache.Loads);
    }

    [Fact]
    public void FixturesShareTheProcessWideCache()
    {
        var fixtures = Enumerable.Range(0, 8).Select(_ => new ModelFixture()).ToList();
        var models = new LoadedModel[fixtures.Count];
        Parallel.For(0, fixtures.Count, i => models[i] = fixtures[i].Default);
        Assert.All(models, m => Assert.Same(ModelCache.Shared.Get(EmbeddedModels.Stories260KPath), m));
        var counting = new ModelFixture(new ModelCache());
        Assert.Same(counting.Get(EmbeddedModels.Stories260KPath), counting.Default);
        Assert.Equal(1, counting.Cache.Loads);
    }

    [Theory]
    [InlineData(typeof(ClassFixtureSample))]
    [InlineData(typeof(CollectionFixtureSample))]
    public void XunitCreatesTheFixtureAsAClassAndAsACollectionFixture(Type sample)
        => Assert.Equal("passed", Assert.Single(InProcessRunner.Run(sample)).Outcome);
}
