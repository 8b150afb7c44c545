using System.Reflection;
using MechTests.Circuits;
using MechTests.Models;
using MechTests.Xunit.Sdk;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MechTests.Xunit.Tests;

/// <summary>Test methods the adapter's tests discover by hand; abstract, so the real run does not pick them up.</summary>
public abstract class Samples
{
    [CircuitTheory, CircuitFiles(Fixtures.Folder)]
    public abstract void OnTheEmbeddedModel(CircuitCase circuit);

    [CircuitTheory, CircuitFiles(Fixtures.Folder, Model = "no/such/model.bin")]
    public abstract void OnAMissingModel(CircuitCase circuit);

    [CircuitFact]
    public abstract void FactOnTheEmbeddedModel();

    [CircuitFact(Model = "no/such/model.bin")]
    public abstract void FactOnAMissingModel();
}

/// <summary>The same process environment (MECHTESTS_STRICT) is read at discovery: one test at a time.</summary>
[CollectionDefinition("Strict", DisableParallelization = true)]
public sealed class StrictCollection;

[Collection("Strict")]
public class AdapterTests
{
    private sealed class Output : ITestOutputHelper
    {
        public List<string> Lines { get; } = [];
        public void WriteLine(string message) => Lines.Add(message);
        public void WriteLine(string format, params object[] args) => Lines.Add(string.Format(format, args));
    }

    private sealed class Options : ITestFrameworkDiscoveryOptions
    {
        private readonly Dictionary<string, object?> _values = new();
        public TValue GetValue<TValue>(string name) => _values.TryGetValue(name, out var v) ? (TValue)v! : default!;
        public void SetValue<TValue>(string name, TValue value) => _values[name] = value;
    }

    private static List<IXunitTestCase> Discover(string method)
    {
        _ = Fixtures.FolderPath;
        var assembly = new TestAssembly(Reflector.Wrap(typeof(Samples).Assembly));
        var testClass = new TestClass(new TestCollection(assembly, null, "samples"), Reflector.Wrap(typeof(Samples)));
        var testMethod = new TestMethod(testClass, Reflector.Wrap(typeof(Samples).GetMethod(method)!));
        var options = new Options();
        var sink = new NullMessageSink();
        var theory = testMethod.Method.GetCustomAttributes(typeof(CircuitTheoryAttribute)).SingleOrDefault();
        if (theory != null) return new CircuitTheoryDiscoverer(sink).Discover(options, testMethod, theory).ToList();
        var fact = testMethod.Method.GetCustomAttributes(typeof(CircuitFactAttribute)).Single();
        return [new CircuitFactDiscoverer(sink).Discover(options, testMethod, fact).Single()];
    }

    private static void WithStrict(string? value, Action body)
    {
        string? saved = Environment.GetEnvironmentVariable(BuildFacts.StrictVariable);
        Environment.SetEnvironmentVariable(BuildFacts.StrictVariable, value);
        try { body(); }
        finally { Environment.SetEnvironmentVariable(BuildFacts.StrictVariable, saved); }
    }

    [Fact]
    public void EveryCircuitFileIsOneRowNamedByItsCircuitAndSnapshotsAreNotRows()
    {
        File.WriteAllText(Path.Combine(Fixtures.FolderPath, "good1.received.json"), "{}");
        var rows = new CircuitFilesAttribute(Fixtures.Folder).GetData(typeof(Samples).GetMethod(nameof(Samples.OnTheEmbeddedModel))!).ToList();
        Assert.Equal(["broken", "good1", "good2"], rows.Select(r => r.Single().ToString()));
        var c = (CircuitCase)rows[1][0];
        Assert.Equal(Path.Combine(Fixtures.FolderPath, "good1.json"), c.Path);
        Assert.Equal(EmbeddedModels.Stories260KPath, c.ModelPath);
        Assert.True(c.ModelExists);
    }

    [Fact]
    public void RowsSurviveXunitsSerializationSoEachShowsSeparately()
    {
        WithStrict(null, () =>
        {
            var cases = Discover(nameof(Samples.OnTheEmbeddedModel));
            Assert.Equal(3, cases.Count);
            Assert.All(cases, tc => Assert.Null(tc.SkipReason));
            Assert.Equal(["OnTheEmbeddedModel(circuit: broken)", "OnTheEmbeddedModel(circuit: good1)", "OnTheEmbeddedModel(circuit: good2)"],
                cases.Select(tc => tc.DisplayName[(tc.DisplayName.LastIndexOf('.') + 1)..]).Order());
            var original = (CircuitCase)cases.Single(tc => tc.DisplayName.EndsWith("good2)", StringComparison.Ordinal)).TestMethodArguments[0];
            var copy = SerializationHelper.Deserialize<IXunitTestCase>(SerializationHelper.Serialize(cases.Single(tc => tc.DisplayName.EndsWith("good2)", StringComparison.Ordinal))));
            var back = (CircuitCase)copy.TestMethodArguments[0];
            Assert.Equal((original.Name, original.Path, original.ModelPath, original.SnapshotBase), (back.Name, back.Path, back.ModelPath, back.SnapshotBase));
        });
    }

    [Fact]
    public void AMissingModelSkipsEveryRowWithThePathUnlessStrict()
    {
        WithStrict(null, () =>
        {
            var cases = Discover(nameof(Samples.OnAMissingModel));
            Assert.Equal(3, cases.Count);
            Assert.All(cases, tc => Assert.Contains(Path.Combine("no", "such", "model.bin"), tc.SkipReason));
            var fact = Discover(nameof(Samples.FactOnAMissingModel)).Single();
            Assert.Contains(Path.Combine("no", "such", "model.bin"), fact.SkipReason);
            Assert.Null(Discover(nameof(Samples.FactOnTheEmbeddedModel)).Single().SkipReason);
        });
        WithStrict("1", () =>
        {
            var cases = Discover(nameof(Samples.OnAMissingModel));
            Assert.All(cases, tc => Assert.Null(tc.SkipReason));
            Assert.Null(Discover(nameof(Samples.FactOnAMissingModel)).Single().SkipReason);
            // ...and the row then fails, naming the path.
            var c = (CircuitCase)cases.First(tc => tc.DisplayName.EndsWith("good1)", StringComparison.Ordinal)).TestMethodArguments[0];
            var e = Assert.Throws<FileNotFoundException>(() => c.Verify());
            Assert.Contains(Path.Combine("no", "such", "model.bin"), e.Message);
        });
    }

    [Fact]
    public void AMalformedFileIsARowThatFailsWithItsParseErrorAndLocation()
    {
        var c = new CircuitCase(Path.Combine(Fixtures.FolderPath, "broken.json"), EmbeddedModels.Stories260KPath);
        var e = Assert.Throws<CircuitFormatException>(() => c.Verify());
        Assert.Equal((3, 5), (e.Line, e.Column));
        Assert.StartsWith(Path.Combine(Fixtures.FolderPath, "broken.json") + "(3,5)", e.Message);
    }

    [Fact]
    public void VerifyWritesTheFiguresAndFailsWithTheDiffWhenTheSnapshotDiffers()
    {
        var c = new CircuitCase(Path.Combine(Fixtures.FolderPath, "good2.json"), EmbeddedModels.Stories260KPath);
        var claim = c.Read();
        // A verified snapshot equal to the claim: re-deriving on the same model matches it.
        File.Copy(c.Path, c.SnapshotBase + SnapshotVerifier.VerifiedSuffix, overwrite: true);
        var output = new Output();
        c.Verify(output);
        Assert.Contains(output.Lines, l => l.StartsWith("good2: ", StringComparison.Ordinal) && l.Contains($"{claim.Circuit.Edges.Count} edges"));
        Assert.Contains(output.Lines, l => l.Contains("faithfulness ") && l.Contains("ablation=corrupted-patch"));

        // A snapshot that lists one edge fewer: a mismatch naming the edge, and the figures are still written.
        var lines = File.ReadAllLines(c.Path).ToList();
        int first = lines.FindIndex(l => l.Contains("\"edges\": [")) + 1;
        string dropped = lines[first];
        lines.RemoveAt(first);
        File.WriteAllLines(c.SnapshotBase + SnapshotVerifier.VerifiedSuffix, lines);
        var again = new Output();
        var e = Assert.Throws<SnapshotMismatchException>(() => c.Verify(again));
        string edge = dropped.Split('"')[3];
        Assert.Contains(edge, e.Message);
        Assert.NotEmpty(again.Lines);
    }

    [Fact]
    public void TheModelCacheLoadsAFileOnceUnderParallelAccess()
    {
        string copy = Path.Combine(Path.GetTempPath(), $"mechtests-cache-{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        foreach (var f in new[] { "stories260K.bin", "tok512.bin" })
            File.Copy(Path.Combine(Path.GetDirectoryName(EmbeddedModels.Stories260KPath)!, f), Path.Combine(copy, f));
        try
        {
            int before = ModelCache.Loads;
            var models = new LoadedModel[32];
            Parallel.For(0, models.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => models[i] = ModelCache.Get(Path.Combine(copy, "stories260K.bin")));
            Assert.Equal(1, ModelCache.Loads - before);
            Assert.All(models, m => Assert.Same(models[0], m));
            Assert.Same(models[0], new ModelFixture().Get(Path.Combine(copy, "stories260K.bin")));
            Assert.Throws<FileNotFoundException>(() => ModelCache.Get(Path.Combine(copy, "missing.bin")));
        }
        finally { Directory.Delete(copy, true); }
    }
}
