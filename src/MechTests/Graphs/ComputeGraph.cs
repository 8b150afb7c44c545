using MechTests.Models;

namespace MechTests.Graphs;

/// <summary>
/// The residual-stream graph of a model (EAP-IG / MIB compatible): nodes <c>input</c>, <c>a{l}.h{h}</c>, <c>m{l}</c>,
/// <c>logits</c>; an edge from every upstream node to every downstream input. Heads of layer l read <c>input</c> and
/// every node of layers &lt; l; MLP l also reads layer l's heads unless attention and MLP run in parallel (NeoX).
/// Grouped-query attention is ungrouped: every query head has its own &lt;k&gt;/&lt;v&gt; ports.
/// </summary>
/// <example><code>
/// var g = ComputeGraph.For(ModelPresets.Gpt2Small);
/// Console.WriteLine($"{g.Nodes.Count} nodes, {g.Edges.Count} edges"); // 158 nodes, 32491 edges
/// GraphEdge e = g.Edge("a3.h2->a5.h1&lt;q&gt;");
/// </code></example>
public sealed class ComputeGraph
{
    private readonly Dictionary<string, GraphNode> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GraphEdge> _edges = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GraphInput> _inputs = new(StringComparer.Ordinal);

    private ComputeGraph(int layers, int heads, bool parallel)
    {
        Layers = layers;
        Heads = heads;
        ParallelAttnMlp = parallel;
        var nodes = new List<GraphNode> { new("input", NodeKind.Input, -1, -1, 0) };
        for (int l = 0; l < layers; l++)
        {
            for (int h = 0; h < heads; h++) nodes.Add(new GraphNode($"a{l}.h{h}", NodeKind.Head, l, h, 1 + l * (heads + 1) + h));
            nodes.Add(new GraphNode($"m{l}", NodeKind.Mlp, l, -1, 1 + l * (heads + 1) + heads));
        }
        var logits = new GraphNode("logits", NodeKind.Logits, layers, -1, nodes.Count);
        nodes.Add(logits);
        Nodes = nodes;
        foreach (var n in nodes) _nodes[n.Name] = n;

        var inputs = new List<GraphInput>();
        var edges = new List<GraphEdge>();
        foreach (var child in nodes)
        {
            if (child.Kind == NodeKind.Input) continue;
            var ports = child.Kind == NodeKind.Head ? new[] { Port.Q, Port.K, Port.V } : new[] { Port.None };
            foreach (var port in ports)
            {
                var input = new GraphInput(child, port, BackwardIndex(child, port));
                inputs.Add(input);
                _inputs[input.Name] = input;
                foreach (var parent in nodes)
                    if (Reads(child, parent))
                    {
                        var e = new GraphEdge(parent, input, edges.Count);
                        edges.Add(e);
                        _edges[e.Name] = e;
                    }
            }
        }
        Inputs = inputs;
        Edges = edges;
    }

    /// <summary>The graph of a model config.</summary>
    public static ComputeGraph For(ModelConfig config) => new(config.NLayers, config.NHeads, config.ParallelAttnMlp);

    /// <summary>Number of blocks.</summary>
    public int Layers { get; }

    /// <summary>Query heads per block.</summary>
    public int Heads { get; }

    /// <summary>Whether MLP l does not read layer l's heads.</summary>
    public bool ParallelAttnMlp { get; }

    /// <summary>Nodes in forward (EAP-IG index) order, <c>logits</c> last.</summary>
    public IReadOnlyList<GraphNode> Nodes { get; }

    /// <summary>Nodes that write to the residual stream (all but <c>logits</c>): the rows of an EAP-IG score matrix.</summary>
    public IEnumerable<GraphNode> ForwardNodes => Nodes.Where(n => n.HasOutput);

    /// <summary>Downstream inputs in backward-index order: the columns of an EAP-IG score matrix.</summary>
    public IReadOnlyList<GraphInput> Inputs { get; }

    /// <summary>Edges in graph order: by child (forward order, ports q, k, v), then parent in forward order.</summary>
    public IReadOnlyList<GraphEdge> Edges { get; }

    /// <summary>Number of forward nodes, 1 + L(H+1).</summary>
    public int ForwardCount => 1 + Layers * (Heads + 1);

    /// <summary>Number of downstream inputs, L(3H+1) + 1.</summary>
    public int BackwardCount => Layers * (3 * Heads + 1) + 1;

    /// <summary>The node with this name, or an error listing the naming scheme.</summary>
    public GraphNode Node(string name) => _nodes.TryGetValue(name, out var n) ? n
        : throw new KeyNotFoundException($"No node '{name}' in this graph ({Layers} layers × {Heads} heads). Node names: input, a{{l}}.h{{h}}, m{{l}}, logits.");

    /// <summary>The edge with this name, or an error.</summary>
    public GraphEdge Edge(string name) => _edges.TryGetValue(name, out var e) ? e
        : throw new KeyNotFoundException($"No edge '{name}' in this graph. Edge names look like 'a0.h1->a2.h3<q>', 'm0->m1', 'm1->logits'; a node reads only nodes of earlier layers (an MLP also reads its own layer's heads{(ParallelAttnMlp ? ", except in parallel-attention models like this one" : "")}).");

    /// <summary>Looks a node up without throwing.</summary>
    public bool TryNode(string name, out GraphNode node) => _nodes.TryGetValue(name, out node!);

    /// <summary>Looks an edge up without throwing.</summary>
    public bool TryEdge(string name, out GraphEdge edge) => _edges.TryGetValue(name, out edge!);

    /// <summary>The input with this name (e.g. <c>a2.h0&lt;k&gt;</c>).</summary>
    public GraphInput Input(string name) => _inputs.TryGetValue(name, out var i) ? i
        : throw new KeyNotFoundException($"No input '{name}' in this graph.");

    /// <summary>Whether <paramref name="child"/> reads <paramref name="parent"/>'s output.</summary>
    public bool Reads(GraphNode child, GraphNode parent)
    {
        if (!parent.HasOutput || child.Kind == NodeKind.Input) return false;
        if (parent.Kind == NodeKind.Input) return true;
        return child.Kind switch
        {
            NodeKind.Logits => true,
            NodeKind.Head => parent.Layer < child.Layer,
            NodeKind.Mlp => parent.Layer < child.Layer || (!ParallelAttnMlp && parent.Layer == child.Layer && parent.Kind == NodeKind.Head),
            _ => false,
        };
    }

    private int BackwardIndex(GraphNode child, Port port) => child.Kind switch
    {
        NodeKind.Head => child.Layer * (3 * Heads + 1) + (port - Port.Q) * Heads + child.Head,
        NodeKind.Mlp => child.Layer * (3 * Heads + 1) + 3 * Heads,
        _ => Layers * (3 * Heads + 1),
    };
}
