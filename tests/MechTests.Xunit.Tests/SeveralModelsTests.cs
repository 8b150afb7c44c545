using System.Text.Json;
using MechTests.Circuits;
using MechTests.Models.Loading;
using MechTests.Tasks;
using MechTests.TestModels;
using MechTests.Xunit.Tests.Samples;
using Xunit;

namespace MechTests.Xunit.Tests;

/// <summary>
/// Circuits of several models in one folder (issue 14, item 2): a row of <c>[CircuitFiles]</c> loads the model its
/// file names in <c>model.path</c>, so the embedded model's circuit and a random GPT-2's sit side by side and both
/// verify; a circuit pointed at the wrong model fails with advice a test can follow, not CLI advice.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public class SeveralModelsTests
{
    private static readonly SnapshotVerifier Accepting = new(new SnapshotSettings { AcceptRequested = true });

    [Fact]
    public void EachRowLoadsTheModelItsFileNamesSoCircuitsOfTwoModelsShareAFolder()
    {
        using var dir = new TempFolder();
        using var env = new EnvironmentScope().Set(VerifySample.Folder, Path.Combine(dir.Path, "circuits")).Set(ModelLocator.ModelVariable, null).Set(BuildFacts.StrictVariable, null);
        // The model outside the circuits folder: its config.json is not a circuit.
        RandomGpt2.Write(Path.Combine(dir.Path, "models", "gpt2-random"));
        string gpt2Claim = dir.Write("circuits/gpt2-random/swap.json", RandomGpt2.Circuit(Path.Combine(dir.Path, "models", "gpt2-random"), "../../models/gpt2-random").ToJson());
        string storiesClaim = dir.Write("circuits/name-copy-empty.json", Stories.EmptyJson);
        // Snapshots accepted directly (not through MECHTESTS_ACCEPT, which CI=true would refuse).
        CircuitCase.ForFile(gpt2Claim).Verify(new RecordingOutput(), Accepting);
        CircuitCase.ForFile(storiesClaim).Verify(new RecordingOutput(), Accepting);
        Assert.Contains("\"path\": \"../../models/gpt2-random\"", File.ReadAllText(Path.Combine(dir.Path, "circuits", "gpt2-random", "swap.verified.json")));
        Assert.Contains("\"schemaVersion\": 2", File.ReadAllText(gpt2Claim));
        Assert.Contains("\"schemaVersion\": 1", File.ReadAllText(storiesClaim));

        var results = InProcessRunner.Run(typeof(VerifySample));

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal("passed", r.Outcome));
        var gpt2Row = Assert.Single(results, r => r.DisplayName.EndsWith("(circuit: gpt2-random/swap)", StringComparison.Ordinal));
        Assert.Contains("gpt2 2×2, d_model 8", gpt2Row.Output);
        Assert.Contains("llama 5×8, d_model 64", Assert.Single(results, r => r.DisplayName.EndsWith("(circuit: name-copy-empty)", StringComparison.Ordinal)).Output);
    }

    [Fact]
    public void AMissingModelPathSkipsTheRowNamingTheFileAndTheTestSideFixes()
    {
        using var dir = new TempFolder();
        using var env = new EnvironmentScope().Set(ModelLocator.ModelVariable, null).Set(BuildFacts.StrictVariable, null);
        RandomGpt2.Write(Path.Combine(dir.Path, "gpt2-random"));
        string claim = dir.Write("c/swap.json", RandomGpt2.Circuit(Path.Combine(dir.Path, "gpt2-random"), "../not-here").ToJson());
        var row = CircuitCase.ForFile(claim);

        Assert.Equal(Path.Combine(dir.Path, "not-here"), row.ModelPath);
        Assert.Equal($"model not found: {Path.Combine(dir.Path, "not-here")} (model.path \"../not-here\" in {claim}). Put the model there, correct model.path in the " +
                     "circuit file, or set Model = \"…\" on [CircuitFiles]; strict mode (MECHTESTS_STRICT=1 or MechTestsStrict=true) fails instead of skipping.",
            row.ModelMissingReason);
    }

    [Fact]
    public void ACircuitRunOnAnotherModelFailsWithTestSideAdvice()
    {
        using var dir = new TempFolder();
        RandomGpt2.Write(Path.Combine(dir.Path, "gpt2-random"));
        // The file says the embedded stories260K is its model (model.path absent) but it is a GPT-2 circuit.
        string claim = dir.Write("swap.json", RandomGpt2.Circuit(Path.Combine(dir.Path, "gpt2-random"), "").ToJson());

        var e = Assert.Throws<ModelMismatchException>(() => CircuitCase.ForFile(claim).Verify(new RecordingOutput(), Accepting));

        Assert.Contains("this circuit belongs to another model (architecture: circuit has gpt2", e.Message);
        Assert.EndsWith(CircuitVerification.TestModelAdvice, e.Message);
        Assert.DoesNotContain("--model", e.Message);
    }
}
