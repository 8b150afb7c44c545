using MechTests.Circuits;
using MechTests.GroundTruth;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// The two models these tests check claims on, each loaded and run once per test run: the planted induction model
/// (its mechanism known by construction) and the real stories260K on tasks/name-copy.json.
/// </summary>
internal static class Models
{
    /// <summary>The folder that holds MechTests.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// The induction model with the earlier occurrence corrupted: circuit input->a0.h1&lt;v&gt;, a0.h1->a1.h2&lt;k&gt;,
    /// a1.h2->logits; distractor heads a0.h0, a0.h2, a1.h0, a1.h1 and both MLPs carry nothing.
    /// </summary>
    public static PlantedModel Induction { get; } = GroundTruthModels.Induction(InductionCorruption.EarlierToken);

    private static readonly Lazy<TaskRuns> s_induction = new(() => TaskRuns.Create(Induction.CreateEngine(), Induction.Task));
    private static readonly Lazy<LoadedModel> s_stories = new(() => ModelLoader.Load(Path.Combine(RepoRoot, "models", "stories260K", "stories260K.bin")));
    private static readonly Lazy<MechTask> s_nameCopy = new(() => MechTask.Load(Path.Combine(RepoRoot, "tasks", "name-copy.json"), Stories.Tokenizer, Stories.Config.VocabSize));
    private static readonly Lazy<TaskRuns> s_storiesRuns = new(() => TaskRuns.Create(new Transformer(Stories.Config, Stories.Weights), NameCopy));

    /// <summary>Clean and corrupted runs of the induction task.</summary>
    public static TaskRuns InductionRuns => s_induction.Value;

    /// <summary>The planted circuit (faithful, complete and minimal by construction).</summary>
    public static Circuit InductionCircuit => Circuit.FromEdges(InductionRuns.Graph, Induction.CircuitEdges);

    /// <summary>The whole induction mechanism: faithful, but its query edges carry no difference and are not necessary.</summary>
    public static Circuit InductionMechanism => Circuit.FromEdges(InductionRuns.Graph, Induction.MechanismEdges);

    /// <summary>stories260K (5 layers × 8 heads).</summary>
    public static LoadedModel Stories => s_stories.Value;

    /// <summary>tasks/name-copy.json tokenized for stories260K.</summary>
    public static MechTask NameCopy => s_nameCopy.Value;

    /// <summary>Clean and corrupted runs of name-copy on stories260K.</summary>
    public static TaskRuns StoriesRuns => s_storiesRuns.Value;

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MechTests.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No MechTests.sln found above {AppContext.BaseDirectory}.");
    }
}
