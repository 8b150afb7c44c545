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

    /// <summary>
    /// The saturated-attention model: the selector head a1.h0 attends with logit 20 to the marked token, and the
    /// corruption moves only the mark, so the difference flows through the key alone (circuit input->a1.h0&lt;k&gt;,
    /// a1.h0->logits). First-order attribution scores that key ≈ 0 (∂softmax ≈ 4e−9 at saturation); patching it
    /// moves the metric by ≈ −10; AtP*'s QK fix recovers it.
    /// </summary>
    public static PlantedModel Saturated { get; } = GroundTruthModels.SaturatedAttention();

    private static readonly Lazy<TaskRuns> s_saturated = new(() => TaskRuns.Create(Saturated.CreateEngine(), Saturated.Task));

    /// <summary>Clean and corrupted runs of the saturated-attention task.</summary>
    public static TaskRuns SaturatedRuns => s_saturated.Value;

    /// <summary>The induction model as a <see cref="LoadedModel"/> (what a circuit file's claims run on), identified by its weights' hash.</summary>
    public static LoadedModel InductionLoaded { get; } = new()
    {
        Config = Induction.Config, Weights = Induction.Weights, SourcePath = "planted:induction-earlier-token",
        WeightsSha256 = ModelIdentity.HashWeights(Induction.Weights),
    };

    /// <summary>A circuit file over the induction model with the task inline and its faithfulness recorded.</summary>
    public static CircuitFile InductionFile(IEnumerable<string> edges)
    {
        var circuit = Circuit.FromEdges(InductionRuns.Graph, edges);
        var d = new DiscoveryResult(circuit, "manual", new Dictionary<string, string>());
        return CircuitFile.Create(d, ModelIdentity.From(Induction.Config, InductionLoaded.WeightsSha256), TaskReference.Inline(InductionRuns.Task))
            .AddMetrics(MetricEntries.From(CircuitEvaluation.Faithfulness(InductionRuns, circuit)));
    }

    /// <summary>The planted circuit's edge that carries the moved token into the induction head's key.</summary>
    public const string KeyEdge = "a0.h1->a1.h2<k>";

    /// <summary>Where the conventions of an edge-level claim over all positions are stated in a message.</summary>
    public const string EdgeConventions = "Conventions: ablation=corrupted-patch; level=edge; positions=all; metric=logit_diff";

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

/// <summary>Runs a claim that must fail and returns its message.</summary>
internal static class Fails
{
    public static string With(Action claim) => Xunit.Assert.Throws<Xunit.Sdk.XunitException>(claim).Message;

    /// <summary>The lines of <paramref name="message"/> after the first line containing <paramref name="header"/>.</summary>
    public static IReadOnlyList<string> LinesAfter(string message, string header)
        => message.Split('\n').SkipWhile(l => !l.Contains(header, StringComparison.Ordinal)).Skip(1).Select(l => l.Trim()).ToList();
}
