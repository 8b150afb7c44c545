using MechTests.Circuits;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Tasks;

namespace MechTests.Xunit.Tests;

/// <summary>
/// Circuit files for the adapter's tests, written once per run next to the test binaries (xunit-fixture-circuits/):
/// two real stories260K circuits (top-n on EAP, faithfulness only — cheap) and one malformed file.
/// </summary>
internal static class Fixtures
{
    public const string Folder = "xunit-fixture-circuits";
    private static readonly Lazy<string> s_folder = new(Create);

    public static string FolderPath => s_folder.Value;

    private static string Create()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, Folder);
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.CreateDirectory(dir);
        var model = ModelLoader.Load(EmbeddedModels.Stories260KPath);
        string repo = RepoRoot();
        var task = MechTask.Load(Path.Combine(repo, "tasks", "name-copy.json"), model.Tokenizer, model.Config.VocabSize);
        foreach (var (name, n) in new[] { ("good1", 10), ("good2", 15) })
        {
            var file = CircuitPipeline.Discover(model, task, TaskReference.Inline(task), new DiscoverySpec { Method = "top-n", Scores = "eap", N = n },
                EvaluationPlan.FaithfulnessOnly);
            file.Write(Path.Combine(dir, name + ".json"));
        }
        // Line 3, column 5: a key without quotes.
        File.WriteAllText(Path.Combine(dir, "broken.json"), "{\n  \"schemaVersion\": 1,\n    oops: true\n}\n");
        return dir;
    }

    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MechTests.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("MechTests.sln not found above the test binaries.");
    }
}
