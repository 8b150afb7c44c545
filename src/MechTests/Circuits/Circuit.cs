using MechTests.Graphs;

namespace MechTests.Circuits;

/// <summary>Whether a circuit was chosen edge by edge or node by node.</summary>
public enum CircuitLevel
{
    /// <summary>Edges chosen individually; the nodes are the edges' endpoints.</summary>
    Edge,
    /// <summary>
    /// Nodes chosen; the circuit holds <b>every</b> graph edge between its nodes. <c>input</c> and <c>logits</c> are
    /// always members (every path starts at <c>input</c>, so leaving it out would prune every node away).
    /// </summary>
    Node,
}

/// <summary>
/// A circuit: a node set and an edge set over a <see cref="ComputeGraph"/> (names exactly as in the graph), with a
/// score per edge where one is known (and per node for node-level circuits). Nodes and edges are kept in graph order.
/// Immutable: <see cref="Prune"/> and the <c>Without…</c> methods return new circuits.
/// </summary>
/// <example><code>
/// var graph = ComputeGraph.For(engine.Config);
/// var c = Circuit.FromEdges(graph, new[] { "input->a0.h1&lt;v&gt;", "a0.h1->logits", "a1.h0->m1" }).Prune();
/// // a1.h0 has no incoming circuit edge, so a1.h0->m1 and m1 are pruned away:
/// Console.WriteLine(string.Join(", ", c.Edges)); // input->a0.h1&lt;v&gt;, a0.h1->logits
/// </code></example>
public sealed class Circuit
{
    private readonly bool[] _nodes; // by GraphNode.ForwardIndex (logits is last)
    // Member edge indexes (GraphEdge.Index): a set, not a mask over the whole graph, so a circuit costs in proportion to
    // its size even when the graph has hundreds of millions of edges.
    private readonly HashSet<int> _edges;
    private readonly Dictionary<string, double> _scores;
    private readonly Dictionary<string, double> _nodeScores;

    private Circuit(ComputeGraph graph, CircuitLevel level, bool[] nodes, HashSet<int> edges,
        Dictionary<string, double> scores, Dictionary<string, double> nodeScores)
    {
        Graph = graph;
        Level = level;
        _nodes = nodes;
        _edges = edges;
        _nodes[graph.Nodes.Count - 1] = true; // logits is always present
        _scores = scores;
        _nodeScores = nodeScores;
        Nodes = Enumerable.Range(0, nodes.Length).Where(i => nodes[i]).Select(i => graph.Nodes[i]).ToList();
        Edges = _edges.Order().Select(i => graph.Edges[i]).ToList();
    }

    /// <summary>The graph the names refer to.</summary>
    public ComputeGraph Graph { get; }

    /// <summary>Edge- or node-level.</summary>
    public CircuitLevel Level { get; }

    /// <summary>Member nodes in graph (forward) order; always includes <c>logits</c>.</summary>
    public IReadOnlyList<GraphNode> Nodes { get; }

    /// <summary>Member edges in graph order.</summary>
    public IReadOnlyList<GraphEdge> Edges { get; }

    /// <summary>Scores of member edges that have one, by edge name.</summary>
    public IReadOnlyDictionary<string, double> Scores => _scores;

    /// <summary>Scores of member nodes (node-level circuits), by node name.</summary>
    public IReadOnlyDictionary<string, double> NodeScores => _nodeScores;

    /// <summary>
    /// The components minimality and completeness remove one at a time: the edges of an edge-level circuit, the
    /// nodes (except <c>input</c> and <c>logits</c>) of a node-level one.
    /// </summary>
    public IReadOnlyList<string> Components => Level == CircuitLevel.Edge
        ? Edges.Select(e => e.Name).ToList()
        : Nodes.Where(IsRemovableNode).Select(n => n.Name).ToList();

    /// <summary>Whether the edge is a member.</summary>
    public bool Contains(GraphEdge edge) => _edges.Contains(edge.Index);

    /// <summary>Whether the edge with this name is a member (false for names not in the graph).</summary>
    public bool Contains(string edgeName) => Graph.TryEdge(edgeName, out var e) && _edges.Contains(e.Index);

    /// <summary>Whether the node is a member.</summary>
    public bool ContainsNode(GraphNode node) => _nodes[node.ForwardIndex];

    /// <summary>Whether the node with this name is a member.</summary>
    public bool ContainsNode(string nodeName) => Graph.TryNode(nodeName, out var n) && _nodes[n.ForwardIndex];

    /// <summary>The empty circuit: no edges, only <c>logits</c>. Its faithfulness is 0.</summary>
    public static Circuit Empty(ComputeGraph graph, CircuitLevel level = CircuitLevel.Edge)
        => new(graph, level, new bool[graph.Nodes.Count], [], new(StringComparer.Ordinal), new(StringComparer.Ordinal));

    /// <summary>The whole graph. Its faithfulness is 1.</summary>
    public static Circuit Full(ComputeGraph graph, IReadOnlyDictionary<string, double>? scores = null)
        => FromEdges(graph, graph.Edges, scores);

    /// <summary>
    /// An edge-level circuit of these edges; its nodes are their endpoints plus <c>logits</c>. Scores of the member
    /// edges are taken from <paramref name="scores"/> when given (it may hold scores of other edges too).
    /// </summary>
    public static Circuit FromEdges(ComputeGraph graph, IEnumerable<GraphEdge> edges, IReadOnlyDictionary<string, double>? scores = null)
    {
        var e = new HashSet<int>();
        var n = new bool[graph.Nodes.Count];
        foreach (var edge in edges)
        {
            e.Add(edge.Index);
            n[edge.Parent.ForwardIndex] = true;
            n[edge.Child.Node.ForwardIndex] = true;
        }
        return new Circuit(graph, CircuitLevel.Edge, n, e, ScoresOf(graph, e, scores), new(StringComparer.Ordinal));
    }

    /// <summary>An edge-level circuit from edge names; unknown names throw with the graph's naming help.</summary>
    public static Circuit FromEdges(ComputeGraph graph, IEnumerable<string> edgeNames, IReadOnlyDictionary<string, double>? scores = null)
        => FromEdges(graph, edgeNames.Select(graph.Edge), scores);

    /// <summary>
    /// A node-level circuit: these nodes plus <c>input</c> and <c>logits</c>, and every graph edge between members.
    /// </summary>
    public static Circuit FromNodes(ComputeGraph graph, IEnumerable<string> nodeNames,
        IReadOnlyDictionary<string, double>? nodeScores = null, IReadOnlyDictionary<string, double>? edgeScores = null)
    {
        var n = new bool[graph.Nodes.Count];
        n[0] = true; // input
        foreach (var name in nodeNames) n[graph.Node(name).ForwardIndex] = true;
        n[graph.Nodes.Count - 1] = true;
        var e = new HashSet<int>();
        var members = Enumerable.Range(0, n.Length).Where(i => n[i]).Select(i => graph.Nodes[i]).ToList();
        foreach (var child in members)
            foreach (var input in graph.InputsOf(child))
                foreach (var parent in members)
                    if (graph.TryEdge(parent, input, out var edge)) e.Add(edge.Index);
        var ns = new Dictionary<string, double>(StringComparer.Ordinal);
        if (nodeScores != null)
            foreach (var node in graph.Nodes)
                if (n[node.ForwardIndex] && nodeScores.TryGetValue(node.Name, out double s)) ns[node.Name] = s;
        return new Circuit(graph, CircuitLevel.Node, n, e, ScoresOf(graph, e, edgeScores), ns);
    }

    /// <summary>
    /// A circuit with exactly these nodes and edges (no endpoints added), e.g. as read from a file or built by hand
    /// for a test; edges whose endpoints are not listed survive until <see cref="Prune"/>.
    /// </summary>
    public static Circuit Create(ComputeGraph graph, CircuitLevel level, IEnumerable<string> nodeNames, IEnumerable<string> edgeNames,
        IReadOnlyDictionary<string, double>? scores = null, IReadOnlyDictionary<string, double>? nodeScores = null)
    {
        var n = new bool[graph.Nodes.Count];
        foreach (var name in nodeNames) n[graph.Node(name).ForwardIndex] = true;
        var e = new HashSet<int>();
        foreach (var name in edgeNames) e.Add(graph.Edge(name).Index);
        var ns = new Dictionary<string, double>(StringComparer.Ordinal);
        if (nodeScores != null)
            foreach (var (k, v) in nodeScores)
                if (graph.TryNode(k, out var node) && n[node.ForwardIndex]) ns[k] = v;
        return new Circuit(graph, level, n, e, ScoresOf(graph, e, scores), ns);
    }

    /// <summary>
    /// Prunes to a fixed point (docs/methods.md §7): repeatedly drops nodes with no incoming or no outgoing circuit edge
    /// (<c>input</c> always counts as having inputs; <c>logits</c> is always present) and edges whose endpoint was
    /// dropped or is not a member. The result has no dangling node or edge; pruning it again changes nothing.
    /// </summary>
    public Circuit Prune()
    {
        var n = (bool[])_nodes.Clone();
        var e = new HashSet<int>(_edges);
        int logits = Graph.Nodes.Count - 1;
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var edge in MembersOf(e))
                if (!(n[edge.Parent.ForwardIndex] && n[edge.Child.Node.ForwardIndex]))
                {
                    e.Remove(edge.Index);
                    changed = true;
                }
            var hasIn = new bool[n.Length];
            var hasOut = new bool[n.Length];
            hasIn[0] = true;
            hasOut[logits] = true;
            foreach (var edge in MembersOf(e))
            {
                hasOut[edge.Parent.ForwardIndex] = true;
                hasIn[edge.Child.Node.ForwardIndex] = true;
            }
            for (int i = 0; i < n.Length; i++)
                if (n[i] && i != logits && !(hasIn[i] && hasOut[i]))
                {
                    n[i] = false;
                    changed = true;
                }
        }
        return new Circuit(Graph, Level, n, e, Keep(_scores, name => e.Contains(Graph.Edge(name).Index)), Keep(_nodeScores, name => n[Graph.Node(name).ForwardIndex]));
    }

    /// <summary>This circuit without these edges (nodes stay; no pruning, so the removal is exactly these edges).</summary>
    public Circuit WithoutEdges(IEnumerable<string> edgeNames)
    {
        var e = new HashSet<int>(_edges);
        foreach (var name in edgeNames) e.Remove(Graph.Edge(name).Index);
        return new Circuit(Graph, Level, (bool[])_nodes.Clone(), e, Keep(_scores, name => e.Contains(Graph.Edge(name).Index)), new(_nodeScores, StringComparer.Ordinal));
    }

    /// <summary>This circuit without these nodes and every edge that touches them (no pruning). <c>logits</c> cannot be removed.</summary>
    public Circuit WithoutNodes(IEnumerable<string> nodeNames)
    {
        var n = (bool[])_nodes.Clone();
        foreach (var name in nodeNames)
        {
            var node = Graph.Node(name);
            if (node.Kind == NodeKind.Logits) throw new ArgumentException("'logits' is part of every circuit and cannot be removed.");
            n[node.ForwardIndex] = false;
        }
        var e = new HashSet<int>(_edges);
        foreach (var edge in MembersOf(e))
            if (!(n[edge.Parent.ForwardIndex] && n[edge.Child.Node.ForwardIndex])) e.Remove(edge.Index);
        return new Circuit(Graph, Level, n, e, Keep(_scores, name => e.Contains(Graph.Edge(name).Index)), Keep(_nodeScores, name => n[Graph.Node(name).ForwardIndex]));
    }

    /// <summary>Removes components as <see cref="Components"/> names them: edges for an edge-level circuit, nodes for a node-level one.</summary>
    public Circuit WithoutComponents(IEnumerable<string> components)
        => Level == CircuitLevel.Edge ? WithoutEdges(components) : WithoutNodes(components);

    /// <summary>Whether both circuits have the same graph shape, level, nodes and edges (scores are not compared).</summary>
    public bool SameMembersAs(Circuit other)
        => other.Graph.Layers == Graph.Layers && other.Graph.Heads == Graph.Heads && other.Graph.ParallelAttnMlp == Graph.ParallelAttnMlp
           && other.Level == Level && other._nodes.AsSpan().SequenceEqual(_nodes) && other._edges.SetEquals(_edges);

    /// <inheritdoc />
    public override string ToString() => $"{(Level == CircuitLevel.Edge ? "edge" : "node")}-level circuit: {Nodes.Count} nodes, {Edges.Count} edges";

    internal static bool IsRemovableNode(GraphNode n) => n.Kind is NodeKind.Head or NodeKind.Mlp;

    private static Dictionary<string, double> ScoresOf(ComputeGraph graph, HashSet<int> members, IReadOnlyDictionary<string, double>? scores)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (scores == null) return result;
        foreach (int i in members)
        {
            var edge = graph.Edges[i];
            if (scores.TryGetValue(edge.Name, out double s)) result[edge.Name] = s;
        }
        return result;
    }

    // A snapshot of the member edges (callers remove from the set while iterating).
    private List<GraphEdge> MembersOf(HashSet<int> members) => members.Select(i => Graph.Edges[i]).ToList();

    private static Dictionary<string, double> Keep(Dictionary<string, double> source, Func<string, bool> keep)
        => source.Where(kv => keep(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
}
