using MechTests.Graphs;

namespace MechTests.Circuits;

/// <summary>
/// Turns scores (attribution or exact patching, by edge or node name) into circuits (docs/methods.md §7): top-n,
/// threshold, greedy-from-logits and ACDC, plus node-level top-n/threshold. Every method is deterministic (ties are
/// broken by graph order), prunes at the end, and records its parameters — the ranking among them — in the result.
/// </summary>
/// <example><code>
/// var runs = TaskRuns.Create(engine, task);
/// var scores = EdgeAttribution.EapIg(runs).Scores;
/// DiscoveryResult top = CircuitDiscovery.TopN(runs.Graph, scores, n: 200, ScoreRanking.Absolute);
/// DiscoveryResult acdc = CircuitDiscovery.Acdc(runs, tau: 0.01);
/// Console.WriteLine($"{top}  faithfulness {CircuitEvaluation.Faithfulness(runs, top.Circuit).Value:F3}");
/// </code></example>
public static partial class CircuitDiscovery
{
    /// <summary>
    /// The <paramref name="n"/> edges ranked highest by <paramref name="ranking"/> (edges without a score are never
    /// chosen), then pruned — so the result can hold fewer than n edges.
    /// </summary>
    public static DiscoveryResult TopN(ComputeGraph graph, IReadOnlyDictionary<string, double> scores, int n, ScoreRanking ranking = ScoreRanking.Absolute)
    {
        var scored = ScoredEdges(graph, scores);
        if (n < 0 || n > scored.Count)
            throw new ArgumentOutOfRangeException(nameof(n), $"n = {n}, but only {scored.Count} edges have scores (0 ≤ n ≤ {scored.Count}).");
        var order = ranking.Order(scored.Select(e => scores[e.Name]).ToArray());
        var chosen = order.Take(n).Select(i => scored[i]);
        return new DiscoveryResult(Circuit.FromEdges(graph, chosen, scores).Prune(), "top-n", new Dictionary<string, string>
        {
            ["n"] = Invariant.I(n),
            ["ranking"] = ranking.Name(),
        });
    }

    /// <summary>Edges with |score| ≥ τ (or score ≥ τ with <see cref="ScoreRanking.Signed"/>), then pruned.</summary>
    public static DiscoveryResult Threshold(ComputeGraph graph, IReadOnlyDictionary<string, double> scores, double tau, ScoreRanking ranking = ScoreRanking.Absolute)
    {
        var chosen = ScoredEdges(graph, scores).Where(e => ranking.Key(scores[e.Name]) >= tau);
        return new DiscoveryResult(Circuit.FromEdges(graph, chosen, scores).Prune(), "threshold", new Dictionary<string, string>
        {
            ["ranking"] = ranking.Name(),
            ["tau"] = Invariant.R(tau),
        });
    }

    /// <summary>
    /// Greedy from the logits (EAP-IG's <c>apply_greedy</c>): start with <c>logits</c>; repeatedly add the
    /// highest-ranked edge whose child is already in the circuit (its parent joins, making the parent's inputs
    /// candidates) until <paramref name="n"/> edges are in; then prune.
    /// </summary>
    public static DiscoveryResult Greedy(ComputeGraph graph, IReadOnlyDictionary<string, double> scores, int n, ScoreRanking ranking = ScoreRanking.Absolute)
    {
        var scored = ScoredEdges(graph, scores);
        if (n < 0 || n > scored.Count)
            throw new ArgumentOutOfRangeException(nameof(n), $"n = {n}, but only {scored.Count} edges have scores (0 ≤ n ≤ {scored.Count}).");
        var incoming = graph.Nodes.Select(_ => new List<GraphEdge>()).ToArray();
        foreach (var e in scored) incoming[e.Child.Node.ForwardIndex].Add(e);
        // Highest key first, then graph order.
        var queue = new PriorityQueue<GraphEdge, (double Key, int Index)>(Comparer<(double Key, int Index)>.Create((a, b) =>
        {
            int c = b.Key.CompareTo(a.Key);
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        }));
        var inCircuit = new bool[graph.Nodes.Count];
        void Enter(GraphNode node)
        {
            inCircuit[node.ForwardIndex] = true;
            foreach (var e in incoming[node.ForwardIndex]) queue.Enqueue(e, (ranking.Key(scores[e.Name]), e.Index));
        }
        Enter(graph.Nodes[^1]);
        var chosen = new List<GraphEdge>();
        while (chosen.Count < n && queue.TryDequeue(out var edge, out _))
        {
            chosen.Add(edge);
            if (!inCircuit[edge.Parent.ForwardIndex]) Enter(edge.Parent);
        }
        return new DiscoveryResult(Circuit.FromEdges(graph, chosen, scores).Prune(), "greedy", new Dictionary<string, string>
        {
            ["n"] = Invariant.I(n),
            ["ranking"] = ranking.Name(),
        });
    }

    /// <summary>
    /// Node-level top-n: the <paramref name="n"/> heads/MLPs ranked highest by their node scores (e.g.
    /// <c>NodePatching</c> effects or node attribution; <c>input</c> and <c>logits</c> are not ranked, they are
    /// always members), with every graph edge between members, then pruned.
    /// </summary>
    public static DiscoveryResult TopNNodes(ComputeGraph graph, IReadOnlyDictionary<string, double> nodeScores, int n, ScoreRanking ranking = ScoreRanking.Absolute)
    {
        var scored = ScoredNodes(graph, nodeScores);
        if (n < 0 || n > scored.Count)
            throw new ArgumentOutOfRangeException(nameof(n), $"n = {n}, but only {scored.Count} heads/MLPs have scores (0 ≤ n ≤ {scored.Count}).");
        var order = ranking.Order(scored.Select(x => nodeScores[x.Name]).ToArray());
        var chosen = order.Take(n).Select(i => scored[i].Name);
        return new DiscoveryResult(Circuit.FromNodes(graph, chosen, nodeScores).Prune(), "top-n-nodes", new Dictionary<string, string>
        {
            ["n"] = Invariant.I(n),
            ["ranking"] = ranking.Name(),
        });
    }

    /// <summary>Node-level threshold: heads/MLPs with |score| ≥ τ (score ≥ τ when signed), all edges between members, pruned.</summary>
    public static DiscoveryResult ThresholdNodes(ComputeGraph graph, IReadOnlyDictionary<string, double> nodeScores, double tau, ScoreRanking ranking = ScoreRanking.Absolute)
    {
        var chosen = ScoredNodes(graph, nodeScores).Where(x => ranking.Key(nodeScores[x.Name]) >= tau).Select(x => x.Name);
        return new DiscoveryResult(Circuit.FromNodes(graph, chosen, nodeScores).Prune(), "threshold-nodes", new Dictionary<string, string>
        {
            ["ranking"] = ranking.Name(),
            ["tau"] = Invariant.R(tau),
        });
    }

    /// <summary>Graph edges that have a score, in graph order; a score for a name the graph lacks is an error (a typo would otherwise vanish).</summary>
    internal static List<GraphEdge> ScoredEdges(ComputeGraph graph, IReadOnlyDictionary<string, double> scores)
    {
        var unknown = scores.Keys.Where(k => !graph.TryEdge(k, out _)).OrderBy(k => k, StringComparer.Ordinal).Take(5).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Scores name edges that are not in this graph ({graph.Layers} layers × {graph.Heads} heads): {string.Join(", ", unknown.Select(u => $"'{u}'"))}. Edge names look like 'a0.h1->a2.h3<q>', 'm0->logits'; node scores go to the node-level methods.");
        return graph.Edges.Where(e => scores.ContainsKey(e.Name)).ToList();
    }

    private static List<GraphNode> ScoredNodes(ComputeGraph graph, IReadOnlyDictionary<string, double> scores)
    {
        var unknown = scores.Keys.Where(k => !graph.TryNode(k, out _)).OrderBy(k => k, StringComparer.Ordinal).Take(5).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Node scores name nodes that are not in this graph ({graph.Layers} layers × {graph.Heads} heads): {string.Join(", ", unknown.Select(u => $"'{u}'"))}. Node names: input, a{{l}}.h{{h}}, m{{l}}, logits.");
        return graph.Nodes.Where(n => Circuit.IsRemovableNode(n) && scores.ContainsKey(n.Name)).ToList();
    }
}
