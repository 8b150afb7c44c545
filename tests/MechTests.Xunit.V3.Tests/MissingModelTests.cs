using MechTests.Circuits;
using MechTests.Xunit.V3.Tests.Samples;
using Xunit;

namespace MechTests.Xunit.V3.Tests;

/// <summary>A missing model skips (v3's dynamic skip, naming the path) and fails under strict mode.</summary>
[Collection(EnvironmentCollection.Name)]
public class MissingModelTests
{
    // Built with -p:MechTestsStrict=true, this assembly itself is strict: a missing model then fails even here.
    private static readonly bool s_assemblyStrict = BuildFacts.From(typeof(MissingModelTests).Assembly, _ => null).Strict;

    private static (TempFolder Dir, string Expected) Folder()
    {
        var dir = new TempFolder();
        dir.Write("claim.json", Stories.EmptyJson);
        dir.Write("broken.json", "{ \"schemaVersion\": 1,\n  \"model\": ");
        return (dir, Path.GetFullPath(Path.Combine(dir.Path, "no-such-model", "model.bin")));
    }

    private static RunResult[] Gated(IReadOnlyList<RunResult> results) =>
    [
        Assert.Single(results, r => r.DisplayName.EndsWith("Row(circuit: claim)", StringComparison.Ordinal)),
        Assert.Single(results, r => r.DisplayName.EndsWith(nameof(MissingModelSample.FactOnMissingModel), StringComparison.Ordinal)),
        Assert.Single(results, r => r.DisplayName.EndsWith("PlainTheory(circuit: claim)", StringComparison.Ordinal)),
    ];

    [Fact]
    public void AMissingModelSkipsTheRowTheFactAndAPlainTheoryThatVerifiesWithAReasonNamingThePath()
    {
        var (dir, expected) = Folder();
        using var _ = dir;
        using var env = new EnvironmentScope().Set(MissingModelSample.Folder, dir.Path).Set(BuildFacts.StrictVariable, null).Set(ModelLocator.ModelVariable, null);

        var results = InProcessRunner.Run(typeof(MissingModelSample));

        Assert.Equal(6, results.Count);
        foreach (var r in Gated(results))
        {
            Assert.Equal(s_assemblyStrict ? "failed" : "skipped", r.Outcome);
            Assert.StartsWith($"model not found: {expected} (Model = \"%MECHTESTS_XT3_MISSING%/no-such-model/model.bin\"", r.Message);
        }
        // A malformed file fails even when its model is missing: the file is wrong wherever it runs.
        var broken = Assert.Single(results, r => r.DisplayName.EndsWith("Row(circuit: broken)", StringComparison.Ordinal));
        Assert.Equal("failed", broken.Outcome);
        Assert.Equal(typeof(CircuitFormatException).FullName, broken.ExceptionType);
        Assert.Contains("broken.json(2,", broken.Message);
        var plainBroken = Assert.Single(results, r => r.DisplayName.EndsWith("PlainTheoryOnBroken(circuit: broken)", StringComparison.Ordinal));
        Assert.Equal("failed", plainBroken.Outcome);
        Assert.Equal(typeof(CircuitFormatException).FullName, plainBroken.ExceptionType);
        Assert.Contains("broken.json(2,", plainBroken.Message);
        // The embedded model is there, so a fact on it runs.
        Assert.Equal("passed", Assert.Single(results, r => r.DisplayName.EndsWith(nameof(MissingModelSample.FactOnDefaultModel), StringComparison.Ordinal)).Outcome);
        Assert.DoesNotContain("missing:claim", Ran.Bodies);
        Assert.DoesNotContain("missing:fact", Ran.Bodies);
        Assert.DoesNotContain("missing:plain-after-verify", Ran.Bodies);
        Assert.DoesNotContain("missing:plain-broken-after-verify", Ran.Bodies);
        Assert.Contains("missing:default-fact", Ran.Bodies);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("true")]
    public void UnderStrictModeAMissingModelFailsTheRowTheFactAndThePlainTheoryNamingThePath(string strict)
    {
        var (dir, expected) = Folder();
        using var _ = dir;
        using var env = new EnvironmentScope().Set(MissingModelSample.Folder, dir.Path).Set(BuildFacts.StrictVariable, strict).Set(ModelLocator.ModelVariable, null);

        var results = InProcessRunner.Run(typeof(MissingModelSample));

        foreach (var r in Gated(results))
        {
            Assert.Equal("failed", r.Outcome);
            Assert.Equal(typeof(ModelNotFoundException).FullName, r.ExceptionType);
            Assert.Contains($"model not found: {expected}", r.Message);
            Assert.Contains("Strict mode is on", r.Message);
        }
        Assert.Equal("passed", Assert.Single(results, r => r.DisplayName.EndsWith(nameof(MissingModelSample.FactOnDefaultModel), StringComparison.Ordinal)).Outcome);
        Assert.Equal(0, results.Count(r => r.Outcome == "skipped"));
    }

    [Fact]
    public void AModelPathInTheCircuitFileThatFindsNothingSkipsTheRowNamingTheFile()
    {
        using var dir = new TempFolder();
        string claim = dir.Write("c/claim.json", CircuitFile.Parse(Stories.EmptyJson).WithModelPath("../not-here").ToJson());
        using var env = new EnvironmentScope().Set(VerifySample.Folder, Path.Combine(dir.Path, "c")).Set(BuildFacts.StrictVariable, null).Set(ModelLocator.ModelVariable, null);

        var result = Assert.Single(InProcessRunner.Run(typeof(VerifySample)));

        Assert.Equal(s_assemblyStrict ? "failed" : "skipped", result.Outcome);
        Assert.Equal($"model not found: {Path.Combine(dir.Path, "not-here")} (model.path \"../not-here\" in {claim}). Put the model there, correct model.path in the " +
                     "circuit file, or set Model = \"…\" on [CircuitFiles]; strict mode (MECHTESTS_STRICT=1 or MechTestsStrict=true) fails instead of skipping.",
            result.Message);
        Assert.Equal(Path.Combine(dir.Path, "not-here"), CircuitCase.ForFile(claim).ModelPath);
    }

    [Fact]
    public void MechTestsModelNamesTheModelOfTestsThatNameNone()
    {
        using var dir = new TempFolder();
        string elsewhere = Path.Combine(dir.Path, "elsewhere", "model.bin");
        using var env = new EnvironmentScope().Set(MissingModelSample.Folder, dir.Path).Set(BuildFacts.StrictVariable, null).Set(ModelLocator.ModelVariable, elsewhere);
        dir.Write("claim.json", Stories.EmptyJson);

        var missing = InProcessRunner.Run(typeof(MissingModelSample));
        var onDefault = Assert.Single(missing, r => r.DisplayName.EndsWith(nameof(MissingModelSample.FactOnDefaultModel), StringComparison.Ordinal));
        Assert.Equal(s_assemblyStrict ? "failed" : "skipped", onDefault.Outcome);
        Assert.Contains($"model not found: {elsewhere} ({ModelLocator.ModelVariable} = \"{elsewhere}\"", onDefault.Message);

        // The same variable pointing at a real model: the fact runs (and the fixture's cache loads from there).
        Directory.CreateDirectory(Path.GetDirectoryName(elsewhere)!);
        File.Copy(MechTests.Models.EmbeddedModels.Stories260KPath, elsewhere);
        var present = InProcessRunner.Run(typeof(MissingModelSample));
        Assert.Equal("passed", Assert.Single(present, r => r.DisplayName.EndsWith(nameof(MissingModelSample.FactOnDefaultModel), StringComparison.Ordinal)).Outcome);
        Assert.Equal(elsewhere, ModelLocator.Resolve(null));
        Assert.Equal(Stories.Model.WeightsSha256, new ModelFixture().Default.WeightsSha256);
    }
}
