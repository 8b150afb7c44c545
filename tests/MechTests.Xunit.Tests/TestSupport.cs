using MechTests.Circuits;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Tasks;

// Compiled into both adapters' test projects (tests/MechTests.Xunit.V3.Tests links it with XUNIT_V3 defined).
#if XUNIT_V3
namespace MechTests.Xunit.V3.Tests;
#else
namespace MechTests.Xunit.Tests;
#endif

/// <summary>
/// Circuit files made by code on the embedded stories260K (the model every test here has next to its assembly): the
/// empty and the full top-n circuit over EAP scores, whose faithfulness is 0 and 1 by definition.
/// </summary>
internal static class Stories
{
    /// <summary>The folder holding MechTests.sln.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);
    private static readonly Lazy<LoadedModel> s_model = new(() => ModelLoader.Load(EmbeddedModels.Stories260KPath));
    private static readonly Lazy<MechTask> s_task = new(() => MechTask.Load(Path.Combine(RepoRoot, "tasks", "name-copy.json"), Model.Tokenizer, Model.Config.VocabSize));
    private static readonly Lazy<string> s_empty = new(() => Discover(0, new EvaluationPlan { Completeness = null, MinimalityDelta = 0.01 }));
    private static readonly Lazy<string> s_full = new(() => Discover(EdgeCount, new EvaluationPlan
    {
        MinimalityDelta = null,
        Completeness = new CompletenessOptions { RandomSets = 2, GreedySteps = 0, Seed = 1 },
    }));

    /// <summary>A private copy of stories260K (the tests compare against it; the cache under test loads its own).</summary>
    public static LoadedModel Model => s_model.Value;

    /// <summary>Every edge of stories260K's graph.</summary>
    public static int EdgeCount => ModelIdentity.From(Model).Graph().Edges.Count;

    /// <summary>The empty circuit (top-n, n = 0, EAP scores) with curves and minimality, as circuit JSON (task inline).</summary>
    public static string EmptyJson => s_empty.Value;

    /// <summary>The full circuit (top-n, n = every edge) with curves and completeness, as circuit JSON (task inline).</summary>
    public static string FullJson => s_full.Value;

    private static string Discover(int n, EvaluationPlan plan)
        => CircuitPipeline.Discover(Model, s_task.Value, TaskReference.Inline(s_task.Value),
            new DiscoverySpec { Method = "top-n", Scores = "eap", N = n }, plan).ToJson();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MechTests.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No MechTests.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A fresh temp folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
#if XUNIT_V3
    private const string TempPrefix = "mechtests-xunit3-";
#else
    private const string TempPrefix = "mechtests-xunit-";
#endif

    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), TempPrefix + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Writes <paramref name="text"/> to <paramref name="relative"/> (folders created) and returns the full path.</summary>
    public string Write(string relative, string text)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Sets environment variables for a scope and restores them.</summary>
internal sealed class EnvironmentScope : IDisposable
{
    private readonly Dictionary<string, string?> _saved = new(StringComparer.Ordinal);

    public EnvironmentScope Set(string name, string? value)
    {
        if (!_saved.ContainsKey(name)) _saved[name] = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        return this;
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved) Environment.SetEnvironmentVariable(name, value);
    }
}

/// <summary>An ITestOutputHelper that keeps the lines.</summary>
#if XUNIT_V3
internal sealed class RecordingOutput : global::Xunit.ITestOutputHelper
#else
internal sealed class RecordingOutput : global::Xunit.Abstractions.ITestOutputHelper
#endif
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines { get { lock (_lines) return _lines.ToList(); } }

    public void WriteLine(string message) { lock (_lines) _lines.Add(message); }

    public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
#if XUNIT_V3

    public string Output { get { lock (_lines) return string.Join("\n", _lines); } }

    // v3's Write has no line break; the lines recorded here are what the adapter wrote, one entry per call.
    public void Write(string message) => WriteLine(message);

    public void Write(string format, params object[] args) => WriteLine(format, args);
#endif
}
