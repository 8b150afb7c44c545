using MechTests.Circuits;
using MechTests.Graphs;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using MechTests.Tests.Measurement;

namespace MechTests.Tests.Circuits;

/// <summary>Tiny random models and token-id tasks for circuit tests (2 layers × 4 heads: 12 nodes, 110 edges for GPT-2).</summary>
internal static class CircuitFixtures
{
    private static readonly Lazy<TaskRuns> Gpt2 = new(NewGpt2Runs);
    private static readonly Lazy<PatchingResult> Gpt2Effects = new(() => EdgePatching.RunEach(Gpt2.Value));

    /// <summary>Cached runs of the tiny GPT-2 task (shared; treat as read-only).</summary>
    public static TaskRuns Gpt2Runs => Gpt2.Value;

    /// <summary>Exact single-edge patching effects of the tiny GPT-2 task (signed, by edge name).</summary>
    public static IReadOnlyDictionary<string, double> Gpt2EdgeEffects => Gpt2Effects.Value.Effects;

    /// <summary>Fresh runs (new model and task objects), for determinism tests.</summary>
    public static TaskRuns NewGpt2Runs()
    {
        var (engine, task) = TinyTasks.Create("gpt2");
        return TaskRuns.Create(engine, task);
    }

    /// <summary>The graph of the tiny GPT-2 config.</summary>
    public static ComputeGraph TinyGraph() => ComputeGraph.For(ModelPresets.Tiny(Architecture.Gpt2));

    /// <summary>
    /// The tiny GPT-2 with one head's W_O slice zeroed: that head writes nothing, so every edge into or out of it has
    /// exactly zero effect — a model where we know which edges do not matter.
    /// </summary>
    public static TaskRuns SilencedHeadRuns(int layer, int head)
    {
        var cfg = ModelPresets.Tiny(Architecture.Gpt2);
        var weights = RandomWeights.Create(cfg, seed: 7, scale: 1.5f);
        Array.Clear(weights.Layers[layer].Wo, head * cfg.DHead * cfg.DModel, cfg.DHead * cfg.DModel);
        var (_, task) = TinyTasks.Create("gpt2");
        return TaskRuns.Create(new Transformer(cfg, weights), task);
    }

    /// <summary>The identity of a run's model (hash of its in-memory weights).</summary>
    public static ModelIdentity Identity(TaskRuns runs)
        => ModelIdentity.From(runs.Model.Config, ModelIdentity.HashWeights(((Transformer)runs.Model).Weights));

    /// <summary>A fresh empty temp folder, deleted by the returned handle.</summary>
    public static TempFolder Temp() => new();
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mechtests-circ-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
