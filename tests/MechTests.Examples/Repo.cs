using MechTests.Models;
using MechTests.Models.Loading;

namespace MechTests.Examples;

/// <summary>Where the repository's model, tasks and circuits are, found by walking up to MechTests.sln.</summary>
internal static class Repo
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(System.IO.Path.Combine(d.FullName, "MechTests.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"No MechTests.sln above {AppContext.BaseDirectory}.");
    });

    private static readonly Lazy<LoadedModel> s_stories = new(() => ModelLoader.Load(Path("models/stories260K/stories260K.bin")));

    public static string Path(string relative) => System.IO.Path.Combine(s_root.Value, relative);

    /// <summary>The embedded default model, loaded once per test run (treat its weights as read-only).</summary>
    public static LoadedModel Stories => s_stories.Value;
}
