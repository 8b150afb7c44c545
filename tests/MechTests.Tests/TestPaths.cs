namespace MechTests.Tests;

/// <summary>Locates test inputs: fixtures copied next to the test assembly, and the repository's models/ folder.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    /// <summary>The directory that contains MechTests.sln, found by walking up from the test binaries.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>A path under the repository's models/ folder, e.g. <c>Models("stories260K/tok512.bin")</c>.</summary>
    public static string Models(string relative) => Path.Combine(RepoRoot, "models", relative);

    /// <summary>A path under Fixtures/ in the test output directory (fixtures are copied there on build).</summary>
    public static string Fixture(string relative) => Path.Combine(AppContext.BaseDirectory, "Fixtures", relative);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MechTests.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException($"No MechTests.sln found above {AppContext.BaseDirectory}.");
    }
}
