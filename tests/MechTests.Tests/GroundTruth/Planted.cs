using System.Collections.Concurrent;
using MechTests.Attribution;
using MechTests.GroundTruth;
using MechTests.Patching;
using Xunit;

namespace MechTests.Tests.GroundTruth;

/// <summary>Planted models, their task runs and exhaustive edge patching, built once per test run and shared.</summary>
internal static class Planted
{
    private static readonly ConcurrentDictionary<string, Lazy<Entry>> Cache = new(StringComparer.Ordinal);

    /// <summary>A model, its runs, and measurements computed on first use.</summary>
    public sealed class Entry(PlantedModel model, TaskRuns runs)
    {
        private readonly Lazy<PatchingResult> _edges = new(() => EdgePatching.RunEach(runs));
        private readonly Lazy<AttributionResult> _eap = new(() => EdgeAttribution.Eap(runs));
        private readonly Lazy<AttributionResult> _eapIg = new(() => EdgeAttribution.EapIg(runs, steps: 5));
        private readonly Lazy<AttributionResult> _star = new(() => EdgeAttribution.AtPStar(runs));
        private readonly Lazy<AttributionResult> _starQk = new(() => EdgeAttribution.AtPStar(runs, qkFix: true, gradDrop: false));

        public PlantedModel Model => model;
        public TaskRuns Runs => runs;
        /// <summary>Exhaustive edge patching (every edge separately).</summary>
        public PatchingResult EdgeEffects => _edges.Value;
        /// <summary>EAP, signed mean.</summary>
        public AttributionResult Eap => _eap.Value;
        /// <summary>EAP-IG with 5 steps, signed mean.</summary>
        public AttributionResult EapIg => _eapIg.Value;
        /// <summary>Edge AtP* (QK fix + GradDrop), abs mean.</summary>
        public AttributionResult AtPStar => _star.Value;
        /// <summary>Edge AtP* with the QK fix only (signed).</summary>
        public AttributionResult AtPStarQkOnly => _starQk.Value;
    }

    /// <summary>Names accepted by <see cref="Get"/>, for theories.</summary>
    public static TheoryData<string> Names => new()
    {
        "induction-earlier-token", "induction-last-token", "induction-copied-token", "cancellation", "saturated-attention",
    };

    public static Entry Get(string name) => Cache.GetOrAdd(name, n => new Lazy<Entry>(() =>
    {
        var model = n switch
        {
            "induction-earlier-token" => GroundTruthModels.Induction(InductionCorruption.EarlierToken),
            "induction-last-token" => GroundTruthModels.Induction(InductionCorruption.LastToken),
            "induction-copied-token" => GroundTruthModels.Induction(InductionCorruption.CopiedToken),
            "cancellation" => GroundTruthModels.Cancellation(),
            "saturated-attention" => GroundTruthModels.SaturatedAttention(),
            _ => throw new ArgumentException($"No planted model '{n}'."),
        };
        return new Entry(model, TaskRuns.Create(model.CreateEngine(), model.Task));
    })).Value;

    /// <summary>Whether an edge touches one of the nodes (as parent or as the child's node).</summary>
    public static bool Touches(MechTests.Graphs.GraphEdge e, IReadOnlySet<string> nodes) => nodes.Contains(e.Parent.Name) || nodes.Contains(e.Child.Node.Name);
}
