using MechTests.Models;
using MechTests.Xunit.V3.Tests.Samples;
using Xunit;

namespace MechTests.Xunit.V3.Tests;

/// <summary>The shared model cache under xUnit v3: an assembly fixture (as the package registers it) and a class fixture.</summary>
[Collection(EnvironmentCollection.Name)]
public class ModelFixtureTests(ModelFixture models)
{
    [Fact]
    public void ThisClassGetsTheAssemblyFixtureOverTheSharedCache()
        => Assert.Same(ModelCache.Shared.Get(EmbeddedModels.Stories260KPath), models.Default);

    [Theory]
    [InlineData(typeof(AssemblyFixtureSample))]
    [InlineData(typeof(ClassFixtureSample))]
    public void XunitCreatesTheFixtureAsAnAssemblyAndAsAClassFixture(Type sample)
        => Assert.Equal("passed", Assert.Single(InProcessRunner.Run(sample)).Outcome);

    [Fact]
    public void AFailedLoadIsNotRememberedSoTheNextCallRetries()
    {
        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "model.bin");
        var cache = new ModelCache();

        Assert.Throws<FileNotFoundException>(() => cache.Get(path));
        File.Copy(EmbeddedModels.Stories260KPath, path);
        var model = cache.Get(path);
        Assert.Same(model, cache.Get(path));
        Assert.Equal(2, cache.Loads);
        Assert.Equal(Stories.Model.WeightsSha256, model.WeightsSha256);
    }
}
