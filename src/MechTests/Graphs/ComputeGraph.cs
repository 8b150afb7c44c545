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
    // Nothing is built up front: a graph of 80 layers × 64 heads has 40 million edges, and a circuit file naming such a
    // model must cost in proportion to the file. Nodes, inputs and edges are computed from their index or parsed from
    // their name; objects are kept once made (edges only for graphs small enough that keeping them all is cheap).
    private const int CachedEdgeLimit = 1 << 22;
    private readonly GraphNode?[] _nodeCache;
    private readonly GraphInput?[] _inputCache;
    private GraphEdge?[]? _edgeCache;
    private readonly long[] _layerOffsets; // first edge index of each layer's inputs; [Layers] = the logits' first edge

    private ComputeGraph(int layers, int heads, bool parallel)
    {
        if (ModelLimits.GraphProblem(layers, heads, parallel) is { } problem)
            throw new ArgumentOutOfRangeException(nameof(layers), $"No graph can be built: {problem}.");
        Layers = layers;
        Heads = heads;
        ParallelAttnMlp = parallel;
        _nodeCache = new GraphNode?[ForwardCount + 1];
        _inputCache = new GraphInput?[BackwardCount];
        _layerOffsets = new long[layers + 1];
        for (int l = 1; l <= layers; l++) _layerOffsets[l] = _layerOffsets[l - 1] + (3L * heads + 1) * Upstream(l - 1) + (parallel ? 0 : heads);
        EdgeCount = (int)(_layerOffsets[layers] + ForwardCount);
        Nodes = new LazyList<GraphNode>(ForwardCount + 1, NodeAt, NodeAt);
        Inputs = new LazyList<GraphInput>(BackwardCount, InputAt, InputAt);
        Edges = new LazyList<GraphEdge>(EdgeCount, i => EdgeAt(i, keep: false), i => EdgeAt(i, keep: true));
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

    /// <summary>
    /// Downstream inputs in graph order (per layer each head's q, k, v, then the MLP; the logits last); each one's
    /// <see cref="GraphInput.BackwardIndex"/> is its column of an EAP-IG score matrix.
    /// </summary>
    public IReadOnlyList<GraphInput> Inputs { get; }

    /// <summary>Edges in graph order: by child (forward order, ports q, k, v), then parent in forward order.</summary>
    public IReadOnlyList<GraphEdge> Edges { get; }

    /// <summary>Number of forward nodes, 1 + L(H+1).</summary>
    public int ForwardCount => 1 + Layers * (Heads + 1);

    /// <summary>Number of downstream inputs, L(3H+1) + 1.</summary>
    public int BackwardCount => Layers * (3 * Heads + 1) + 1;

    /// <summary>Number of edges (computed, not built).</summary>
    public int EdgeCount { get; }

    /// <summary>The node with this name, or an error listing the naming scheme.</summary>
    public GraphNode Node(string name) => TryNode(name, out var n) ? n
        : throw new KeyNotFoundException($"No node '{name}' in this graph ({Layers} layers × {Heads} heads). Node names: input, a{{l}}.h{{h}}, m{{l}}, logits.");

    /// <summary>The edge with this name, or an error.</summary>
    public GraphEdge Edge(string name) => TryEdge(name, out var e) ? e
        : throw new KeyNotFoundException($"No edge '{name}' in this graph. Edge names look like 'a0.h1->a2.h3<q>', 'm0->m1', 'm1->logits'; a node reads only nodes of earlier layers (an MLP also reads its own layer's heads{(ParallelAttnMlp ? ", except in parallel-attention models like this one" : "")}).");

    /// <summary>Looks a node up without throwing (only canonical names: <c>a01.h2</c> is not <c>a1.h2</c>).</summary>
    public bool TryNode(string name, out GraphNode node)
    {
        node = null!;
        int index = ParseNode(name.AsSpan());
        if (index < 0) return false;
        node = NodeAt(index);
        return true;
    }

    /// <summary>Looks an edge up without throwing.</summary>
    public bool TryEdge(string name, out GraphEdge edge)
    {
        edge = null!;
        int arrow = name.IndexOf("->", StringComparison.Ordinal);
        if (arrow < 0 || !TryNode(name[..arrow], out var parent) || !TryInput(name[(arrow + 2)..], out var input)) return false;
        return TryEdge(parent, input, out edge);
    }

    /// <summary>The edge from <paramref name="parent"/> into <paramref name="input"/>, when the input reads that node.</summary>
    public bool TryEdge(GraphNode parent, GraphInput input, out GraphEdge edge)
    {
        edge = null!;
        if (!Reads(input.Node, parent)) return false;
        edge = EdgeAt(checked((int)(InputOffset(input) + parent.ForwardIndex)), keep: false);
        return true;
    }

    /// <summary>The inputs of a node: q, k, v for a head, one for an MLP or the logits, none for <c>input</c>.</summary>
    public IReadOnlyList<GraphInput> InputsOf(GraphNode node) => node.Kind switch
    {
        NodeKind.Head => [InputFor(node, Port.Q), InputFor(node, Port.K), InputFor(node, Port.V)],
        NodeKind.Mlp or NodeKind.Logits => [InputFor(node, Port.None)],
        _ => [],
    };

    /// <summary>The input with this name (e.g. <c>a2.h0&lt;k&gt;</c>).</summary>
    public GraphInput Input(string name) => TryInput(name, out var i) ? i
        : throw new KeyNotFoundException($"No input '{name}' in this graph.");

    /// <summary>Looks an input up without throwing.</summary>
    public bool TryInput(string name, out GraphInput input)
    {
        input = null!;
        var port = Port.None;
        string nodeName = name;
        if (name.EndsWith('>'))
        {
            port = name.Length >= 3 ? name[^3..] switch { "<q>" => Port.Q, "<k>" => Port.K, "<v>" => Port.V, _ => Port.None } : Port.None;
            if (port == Port.None) return false;
            nodeName = name[..^3];
        }
        if (!TryNode(nodeName, out var node) || node.Kind == NodeKind.Input || (node.Kind == NodeKind.Head) != (port != Port.None)) return false;
        input = InputFor(node, port);
        return true;
    }

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

    // Forward nodes before layer l's heads: input and every node of the earlier layers.
    private long Upstream(int layer) => 1 + (long)layer * (Heads + 1);

    private GraphNode NodeAt(int index)
    {
        if (_nodeCache[index] is { } cached) return cached;
        GraphNode node;
        if (index == 0) node = new GraphNode("input", NodeKind.Input, -1, -1, 0);
        else if (index == ForwardCount) node = new GraphNode("logits", NodeKind.Logits, Layers, -1, index);
        else
        {
            int layer = (index - 1) / (Heads + 1), head = (index - 1) % (Heads + 1);
            node = head < Heads
                ? new GraphNode($"a{layer}.h{head}", NodeKind.Head, layer, head, index)
                : new GraphNode($"m{layer}", NodeKind.Mlp, layer, -1, index);
        }
        return _nodeCache[index] = node;
    }

    // Inputs in graph order: per layer the heads' q, k, v, then the MLP; the logits last.
    private GraphInput InputAt(int index)
    {
        if (_inputCache[index] is { } cached) return cached;
        int layer = index / (3 * Heads + 1), within = index % (3 * Heads + 1);
        GraphNode node;
        Port port = Port.None;
        if (layer == Layers) node = NodeAt(ForwardCount);
        else if (within == 3 * Heads) node = NodeAt(1 + layer * (Heads + 1) + Heads);
        else
        {
            node = NodeAt(1 + layer * (Heads + 1) + within / 3);
            port = Port.Q + within % 3;
        }
        return _inputCache[index] = new GraphInput(node, port, BackwardIndex(node, port));
    }

    private GraphInput InputFor(GraphNode node, Port port) => InputAt(node.Kind switch
    {
        NodeKind.Head => node.Layer * (3 * Heads + 1) + 3 * node.Head + (port - Port.Q),
        NodeKind.Mlp => node.Layer * (3 * Heads + 1) + 3 * Heads,
        _ => Layers * (3 * Heads + 1),
    });

    // The first edge into an input; its parents are a prefix of the forward nodes, so edge = offset + parent index.
    private long InputOffset(GraphInput input) => input.Node.Kind switch
    {
        NodeKind.Head => _layerOffsets[input.Node.Layer] + (3L * input.Node.Head + (input.Port - Port.Q)) * Upstream(input.Node.Layer),
        NodeKind.Mlp => _layerOffsets[input.Node.Layer] + 3L * Heads * Upstream(input.Node.Layer),
        _ => _layerOffsets[Layers],
    };

    // keep: a pass over every edge (patching, attribution) fills the cache; single lookups (reading a file) use it when
    // it exists but never allocate it, so reading stays in proportion to the file.
    private GraphEdge EdgeAt(int index, bool keep)
    {
        var cache = _edgeCache;
        if (cache == null && keep && EdgeCount <= CachedEdgeLimit) cache = _edgeCache = new GraphEdge?[EdgeCount];
        if (cache?[index] is { } cached) return cached;
        int layer = Array.BinarySearch(_layerOffsets, (long)index);
        if (layer < 0) layer = ~layer - 1;
        long r = index - _layerOffsets[layer];
        GraphInput input;
        int parent;
        if (layer == Layers)
        {
            input = InputAt(Layers * (3 * Heads + 1));
            parent = (int)r;
        }
        else
        {
            long p = Upstream(layer);
            if (r < 3L * Heads * p)
            {
                input = InputAt(layer * (3 * Heads + 1) + (int)(r / p));
                parent = (int)(r % p);
            }
            else
            {
                input = InputAt(layer * (3 * Heads + 1) + 3 * Heads);
                parent = (int)(r - 3L * Heads * p);
            }
        }
        var edge = new GraphEdge(NodeAt(parent), input, index);
        if (cache != null) cache[index] = edge;
        return edge;
    }

    // The forward index of a canonical node name, or -1.
    private int ParseNode(ReadOnlySpan<char> name)
    {
        if (name.SequenceEqual("input")) return 0;
        if (name.SequenceEqual("logits")) return ForwardCount;
        if (name.Length > 1 && name[0] == 'm')
            return Number(name[1..], Layers) is int l and >= 0 ? 1 + l * (Heads + 1) + Heads : -1;
        if (name.Length > 1 && name[0] == 'a')
        {
            int dot = name.IndexOf(".h");
            if (dot < 0) return -1;
            int layer = Number(name[1..dot], Layers), head = Number(name[(dot + 2)..], Heads);
            return layer >= 0 && head >= 0 ? 1 + layer * (Heads + 1) + head : -1;
        }
        return -1;
    }

    // A canonical decimal (no sign, no leading zero) below bound, or -1.
    private static int Number(ReadOnlySpan<char> digits, int bound)
    {
        if (digits.Length is 0 or > 9 || (digits.Length > 1 && digits[0] == '0')) return -1;
        int v = 0;
        foreach (char ch in digits)
        {
            if (ch is < '0' or > '9') return -1;
            v = v * 10 + (ch - '0');
        }
        return v < bound ? v : -1;
    }

    /// <summary>A read-only list whose items are made on demand from their index (<paramref name="walk"/> when enumerated).</summary>
    private sealed class LazyList<T>(int count, Func<int, T> at, Func<int, T> walk) : IReadOnlyList<T>
    {
        public T this[int index] => (uint)index < (uint)count ? at(index) : throw new ArgumentOutOfRangeException(nameof(index));

        public int Count => count;

        public IEnumerator<T> GetEnumerator()
        {
            for (int i = 0; i < count; i++) yield return walk(i);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
