using MechTests.Graphs;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.Circuits;

/// <summary>What ACDC measures when it decides whether an edge can go.</summary>
public enum AcdcMetric
{
    /// <summary>The task's own metric (logit difference, probability difference, …).</summary>
    Task,
    /// <summary>KL divergence of the next-token distribution to the clean run (ACDC's default).</summary>
    Kl,
}

public static partial class CircuitDiscovery
{
    /// <summary>
    /// ACDC (Conmy et al. 2023) with corrupted-patch ablation: visit the edges from the logits backwards (reverse graph
    /// order, which is a reverse topological order of the children); tentatively patch each edge to its corrupted
    /// value together with every edge already removed, and keep it removed when the mean metric changes by less than
    /// <paramref name="tau"/> (|L(removed ∪ {e}) − L(removed)| &lt; τ, strictly). Edges into a node that no longer has
    /// an outgoing circuit edge cannot change the metric and are removed without a pass. One circuit run
    /// (<see cref="EdgePatching.MetricWithPatchedEdges"/>) per visited edge; the result is pruned.
    /// τ = 0 removes nothing; τ = ∞ removes everything.
    /// </summary>
    /// <example><code>
    /// var acdc = CircuitDiscovery.Acdc(runs, tau: 0.02, metric: AcdcMetric.Kl);
    /// Console.WriteLine(acdc.Circuit.Edges.Count);
    /// </code></example>
    public static DiscoveryResult Acdc(TaskRuns runs, double tau, AcdcMetric metric = AcdcMetric.Task, IProgress<int>? progress = null)
    {
        if (double.IsNaN(tau) || tau < 0) throw new ArgumentOutOfRangeException(nameof(tau), $"tau = {tau}; ACDC needs τ ≥ 0.");
        var measured = metric == AcdcMetric.Kl && runs.Task.Metric != MetricKind.KlDivergence
            ? TaskRuns.Create(runs.Model, new MechTask(runs.Task.Name, MetricKind.KlDivergence, runs.Task.Pairs, runs.Task.SourcePath, runs.Task.Sha256))
            : runs;
        var graph = runs.Graph;
        var removed = new bool[graph.Edges.Count];
        var liveOut = new int[graph.Nodes.Count];
        foreach (var e in graph.Edges) liveOut[e.Parent.ForwardIndex]++;
        double current = EdgePatching.MetricWithPatchedEdges(measured, e => removed[e.Index]).Average();
        progress?.Report(1);
        for (int i = graph.Edges.Count - 1; i >= 0; i--)
        {
            var edge = graph.Edges[i];
            var child = edge.Child.Node;
            removed[edge.Index] = true;
            if (child.Kind != NodeKind.Logits && liveOut[child.ForwardIndex] == 0)
            {
                liveOut[edge.Parent.ForwardIndex]--;
                continue;
            }
            double candidate = EdgePatching.MetricWithPatchedEdges(measured, e => removed[e.Index]).Average();
            progress?.Report(1);
            if (Math.Abs(candidate - current) < tau)
            {
                current = candidate;
                liveOut[edge.Parent.ForwardIndex]--;
            }
            else removed[edge.Index] = false;
        }
        var kept = graph.Edges.Where(e => !removed[e.Index]);
        return new DiscoveryResult(Circuit.FromEdges(graph, kept).Prune(), "acdc", new Dictionary<string, string>
        {
            ["ablation"] = "corrupted-patch",
            ["metric"] = metric == AcdcMetric.Kl ? "kl" : MetricNames.Of(runs.Task.Metric),
            ["order"] = "reverse-topological",
            ["tau"] = Invariant.R(tau),
        });
    }
}
