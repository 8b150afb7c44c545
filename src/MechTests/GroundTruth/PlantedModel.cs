using MechTests.Graphs;
using MechTests.Models;
using MechTests.Tasks;

namespace MechTests.GroundTruth;

/// <summary>
/// A transformer whose mechanism is known by construction: weights set by code, a task, and the planted circuit as
/// names of the <see cref="ComputeGraph"/> (edges like <c>a0.h1-&gt;a1.h2&lt;k&gt;</c>, nodes like <c>a1.h2</c>).
/// </summary>
/// <param name="Name">Short name, e.g. <c>induction-earlier-token</c>.</param>
/// <param name="Config">The model's shape (Llama family: RMSNorm, no rotary, learned positions).</param>
/// <param name="Weights">The constructed weights.</param>
/// <param name="Task">Token-id prompt pairs with correct/wrong answers; metric <c>logit_diff</c>.</param>
/// <param name="CircuitEdges">
/// The planted circuit for this task: exactly the edges through which the clean/corrupted difference flows <i>and</i>
/// changes the metric. Keeping these clean while every other edge carries its corrupted value restores the clean
/// metric (faithfulness 1); corrupting any one of them moves the metric most of the way to the corrupted value.
/// </param>
/// <param name="CircuitNodes">The nodes the circuit edges touch (including <c>input</c> and <c>logits</c>).</param>
/// <param name="Description">How the model computes, in words.</param>
/// <example><code>
/// var m = GroundTruthModels.Induction();
/// var runs = TaskRuns.Create(m.CreateEngine(), m.Task);
/// double f = CircuitScore.Faithfulness(runs, m.CircuitEdges);   // 1 by construction
/// </code></example>
public sealed record PlantedModel(string Name, ModelConfig Config, ModelWeights Weights, MechTask Task,
    IReadOnlySet<string> CircuitEdges, IReadOnlySet<string> CircuitNodes, string Description)
{
    /// <summary>
    /// Every edge the mechanism uses structurally (a superset of <see cref="CircuitEdges"/>): also the edges whose clean
    /// and corrupted values are the same where it matters (e.g. the induction head's query when only earlier tokens
    /// change), which faithfulness therefore cannot require. Keeping all of them clean is also faithful.
    /// </summary>
    /// <example><code>
    /// var m = GroundTruthModels.Induction(InductionCorruption.LastToken);
    /// double f = CircuitScore.Faithfulness(runs, m.MechanismEdges);   // also 1
    /// </code></example>
    public required IReadOnlySet<string> MechanismEdges { get; init; }

    /// <summary>
    /// Nodes that are irrelevant by construction: distractor heads (zero W_O, or constant values written into a
    /// subspace nothing reads) and zeroed MLPs. Every edge into or out of them has zero patching effect and zero
    /// attribution (up to float rounding for the constant-value heads).
    /// </summary>
    /// <example><code>
    /// var inert = runs.Graph.Edges.Where(e => m.DistractorNodes.Contains(e.Parent.Name) || m.DistractorNodes.Contains(e.Child.Node.Name));
    /// </code></example>
    public required IReadOnlySet<string> DistractorNodes { get; init; }

    /// <summary>
    /// The node the model was built to exhibit, if any: the cancelling head of the GradDrop model (a component node
    /// such as <c>a0.h1</c>) or the saturated key of the QK-fix model (a q/k/v node such as <c>a1.h0.k</c>).
    /// </summary>
    /// <example><code>
    /// var m = GroundTruthModels.SaturatedAttention();
    /// var key = NodeSets.Build(m.Config, NodeGranularity.QueryKeyValue).Single(n => n.Name == m.FocusNode);
    /// </code></example>
    public string? FocusNode { get; init; }

    /// <summary>A fresh engine over the weights (shared, not copied).</summary>
    /// <example><code>
    /// var pass = GroundTruthModels.Cancellation().CreateEngine().Run(new[] { new[] { 0, 3, 4 } }, RunOptions.Default);
    /// </code></example>
    public Transformer CreateEngine() => new(Config, Weights);

    /// <summary>The nodes touched by a set of edge names (parents and child nodes), in no particular order.</summary>
    /// <example><code>
    /// var nodes = PlantedModel.NodesOf(new[] { "a0.h1->a1.h2&lt;k&gt;", "a1.h2->logits" });   // a0.h1, a1.h2, logits
    /// </code></example>
    public static IReadOnlySet<string> NodesOf(IEnumerable<string> edges)
    {
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in edges)
        {
            int arrow = e.IndexOf("->", StringComparison.Ordinal);
            if (arrow < 0) throw new ArgumentException($"'{e}' is not an edge name (expected 'parent->child<port>').");
            nodes.Add(e[..arrow]);
            var child = e[(arrow + 2)..];
            int port = child.IndexOf('<', StringComparison.Ordinal);
            nodes.Add(port < 0 ? child : child[..port]);
        }
        return nodes;
    }
}
