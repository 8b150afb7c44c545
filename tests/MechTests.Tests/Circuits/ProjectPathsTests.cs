using MechTests.Circuits;
using MechTests.Tasks;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>
/// Relative paths in tests resolve against the source tree, never bin/ (issue 14, item 1): the repository's test
/// projects carry MechTests.ProjectDirectory (tests/MechTests.Tests), and the repository's circuits/ and tasks/ are
/// found by walking up from it to the folder holding .git.
/// </summary>
public class ProjectPathsTests
{
    private static string Project => Path.Combine(TestPaths.RepoRoot, "tests", "MechTests.Tests");

    [Fact]
    public void TheProjectFolderComesFromTheBuildFactsAndBinIsNeverSearched()
    {
        Assert.Equal(Project, ProjectPaths.ProjectDirectory(typeof(ProjectPathsTests).Assembly));
        var folders = ProjectPaths.SearchFolders(typeof(ProjectPathsTests).Assembly);
        Assert.Equal(Project, folders[0]);
        Assert.Contains(TestPaths.RepoRoot.TrimEnd('/'), folders);
        string bin = AppContext.BaseDirectory.TrimEnd('/');
        Assert.DoesNotContain(folders, f => f == bin || f.StartsWith(bin + "/", StringComparison.Ordinal));
    }

    [Fact]
    public void TheReadmeRelativePathsReadTheCommittedFiles()
    {
        var claim = CircuitFile.Read("circuits/name-copy.json");
        Assert.Equal(Path.Combine(TestPaths.RepoRoot, "circuits", "name-copy.json"), claim.SourcePath);
        var model = MechTests.Models.Loading.ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin"));
        var task = MechTask.Load("tasks/name-copy.json", model.Tokenizer, model.Config.VocabSize);
        Assert.Equal(Path.Combine(TestPaths.RepoRoot, "tasks", "name-copy.json"), task.SourcePath);
    }

    [Fact]
    public void ANotFoundErrorNamesEveryFolderSearched()
    {
        var e = Assert.Throws<FileNotFoundException>(() => CircuitFile.Read("circuits/no-such-claim.json"));
        Assert.StartsWith("Circuit file not found: circuits/no-such-claim.json", e.Message);
        foreach (var folder in ProjectPaths.SearchFolders()) Assert.Contains(folder, e.Message);
        Assert.Contains(Project, e.Message);
    }

    [Fact]
    public void ACopyUnderBinMapsToTheSourceTreeForSnapshots()
    {
        string copy = Path.Combine(AppContext.BaseDirectory, "circuits", "x.verified.json");
        Assert.Equal(Path.Combine(Project, "circuits", "x.verified.json"), ProjectPaths.InSourceTree(copy));
        string elsewhere = Path.Combine(Path.GetTempPath(), "x.verified.json");
        Assert.Equal(elsewhere, ProjectPaths.InSourceTree(elsewhere));
    }

    [Fact]
    public void ARelativeSnapshotPathIsWrittenInTheSourceTree()
    {
        // "circuits/…" exists above the project (the repository's circuits/), so a new snapshot goes there — not bin/.
        string target = ProjectPaths.ResolveForWrite("circuits/not-yet-accepted.verified.json");
        Assert.Equal(Path.Combine(TestPaths.RepoRoot, "circuits", "not-yet-accepted.verified.json"), target);
        Assert.Equal(Path.Combine(TestPaths.RepoRoot, "circuits", "name-copy.verified.json"),
            ProjectPaths.ResolveForWrite("circuits/name-copy.verified.json"));
    }
}
