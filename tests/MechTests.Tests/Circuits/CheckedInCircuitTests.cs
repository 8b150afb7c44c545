using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>
/// The checked-in claims are consistent: every verified snapshot has its circuit and both name the model they are
/// about — the one at model.path (the trained GPT-2s under models/), else the embedded stories260K.
/// (Re-deriving them is tests/MechTests.Examples' job, the same pipeline `mechtests verify` runs.)
/// </summary>
public class CheckedInCircuitTests
{
    private static string Folder => Path.Combine(TestPaths.RepoRoot, "circuits");

    [Fact]
    public void EveryVerifiedSnapshotHasItsCircuitFileAndBothRecordTheirModel()
    {
        var circuits = Directory.GetFiles(Folder, "*.json").Where(f => !f.EndsWith(SnapshotVerifier.VerifiedSuffix, StringComparison.Ordinal) && !f.EndsWith(SnapshotVerifier.ReceivedSuffix, StringComparison.Ordinal)).ToList();
        Assert.Empty(SnapshotVerifier.FindOrphans(Folder, circuits.Select(c => Path.GetFileNameWithoutExtension(c))));
        var stories = MechTests.Models.Loading.ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin"));
        foreach (var c in circuits)
        {
            var file = CircuitFile.Read(c);
            var model = file.ResolveModelPath() is string path ? MechTests.Models.Loading.ModelLoader.Load(path) : stories;
            Assert.Equal(model.WeightsSha256, file.Model.WeightsSha256);
            Assert.True(File.Exists(SnapshotVerifier.VerifiedPathOf(Path.ChangeExtension(c, null))), $"{c} has no verified snapshot");
            Assert.Equal(model.WeightsSha256, CircuitFile.Read(SnapshotVerifier.VerifiedPathOf(Path.ChangeExtension(c, null))).Model.WeightsSha256);
        }
    }
}
