using System.Text.Json;
using MechTests.Circuits;
using MechTests.Tests.Cli;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>
/// The README's main job on the repository's own claims: `mechtests verify` re-derives every circuit under circuits/
/// on stories260K (its recorded method, parameters and evaluation) and compares it with its verified snapshot.
/// </summary>
public class CheckedInCircuitTests
{
    private static string Folder => Path.Combine(TestPaths.RepoRoot, "circuits");

    [Fact]
    public void EveryCheckedInCircuitReDerivesToItsVerifiedSnapshot()
    {
        var (code, stdout, stderr) = CliRunner.RunClean(null, "verify", Folder, "--json");
        var root = JsonDocument.Parse(stdout).RootElement;
        var rows = root.GetProperty("circuits").EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!);
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal(["name-copy", "pronoun"], rows.Keys.Order());
        Assert.All(rows.Values, r => Assert.Equal("matched", r.GetProperty("status").GetString()));
        // The claims themselves: faithful circuits (corrupted-patch ablation, logit_diff, normalized, not clamped).
        Assert.True(rows["name-copy"].GetProperty("faithfulness").GetDouble() >= 0.85);
        Assert.True(rows["name-copy"].GetProperty("cpr").GetDouble() >= 0.9);
        Assert.True(rows["pronoun"].GetProperty("faithfulness").GetDouble() >= 0.85);
    }

    [Fact]
    public void EveryVerifiedSnapshotHasItsCircuitFileAndRecordsTheEmbeddedModel()
    {
        var circuits = Directory.GetFiles(Folder, "*.json").Where(f => !f.EndsWith(SnapshotVerifier.VerifiedSuffix, StringComparison.Ordinal)).ToList();
        Assert.Empty(SnapshotVerifier.FindOrphans(Folder, circuits.Select(c => Path.GetFileNameWithoutExtension(c))));
        var model = MechTests.Models.Loading.ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin"));
        foreach (var c in circuits)
        {
            var file = CircuitFile.Read(c);
            Assert.Equal(model.WeightsSha256, file.Model.WeightsSha256);
            Assert.True(File.Exists(SnapshotVerifier.VerifiedPathOf(Path.ChangeExtension(c, null))), $"{c} has no verified snapshot");
        }
    }
}
