using System.Text.Json.Nodes;

namespace MechTests.Reports.Tests;

/// <summary>Paths in the repository and an independent reading of circuit JSON (System.Text.Json, not CircuitFile).</summary>
internal static class Repo
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MechTests.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No MechTests.sln above {AppContext.BaseDirectory}.");
    });

    /// <summary>The folder holding MechTests.sln.</summary>
    public static string Root => s_root.Value;

    /// <summary>circuits/name-copy.json.</summary>
    public static string NameCopy => Path.Combine(Root, "circuits", "name-copy.json");

    /// <summary>This test project's folder.</summary>
    public static string ProjectDir => Path.Combine(Root, "tests", "MechTests.Reports.Tests");

    /// <summary>Where artefacts (screenshots, pages) go: $MECHTESTS_ARTIFACTS or TestResults/reports (git-ignored).</summary>
    public static string Artifacts
    {
        get
        {
            string dir = Environment.GetEnvironmentVariable("MECHTESTS_ARTIFACTS") is { Length: > 0 } a ? a : Path.Combine(Root, "TestResults", "reports");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>Edge names → score text exactly as written in the file, in file order.</summary>
    public static List<(string Name, string Score)> Edges(string circuitPath)
        => ((JsonArray)JsonNode.Parse(File.ReadAllText(circuitPath))!["circuit"]!["edges"]!)
            .Select(e => e is JsonObject o ? (o["name"]!.GetValue<string>(), o["score"]!.ToJsonString()) : (e!.GetValue<string>(), ""))
            .ToList();

    /// <summary>Node names as written in the file.</summary>
    public static List<string> Nodes(string circuitPath)
        => ((JsonArray)JsonNode.Parse(File.ReadAllText(circuitPath))!["circuit"]!["nodes"]!)
            .Select(n => n is JsonObject o ? o["name"]!.GetValue<string>() : n!.GetValue<string>())
            .ToList();
}

/// <summary>A fresh temp folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mechtests-reports-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Copies the name-copy circuit, its verified snapshot and its task into circuits/ and tasks/ here.</summary>
    public string CopyNameCopy()
    {
        Directory.CreateDirectory(System.IO.Path.Combine(Path, "circuits"));
        Directory.CreateDirectory(System.IO.Path.Combine(Path, "tasks"));
        File.Copy(System.IO.Path.Combine(Repo.Root, "tasks", "name-copy.json"), System.IO.Path.Combine(Path, "tasks", "name-copy.json"));
        File.Copy(System.IO.Path.Combine(Repo.Root, "circuits", "name-copy.verified.json"), System.IO.Path.Combine(Path, "circuits", "name-copy.verified.json"));
        string c = System.IO.Path.Combine(Path, "circuits", "name-copy.json");
        File.Copy(Repo.NameCopy, c);
        return c;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
