using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>
/// The checked-in claims are consistent: every verified snapshot has its circuit and both name the embedded model.
/// (Re-deriving them is tests/MechTests.Examples' job, the same pipeline `mechtests verify` runs.)
/// </summary>
public class CheckedInCircuitTests
{
    private static string Folder => Path.Combine(TestPaths.RepoRoot, "circuits");

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
