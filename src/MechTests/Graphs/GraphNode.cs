namespace MechTests.Graphs;

/// <summary>What a graph node is.</summary>
public enum NodeKind
{
    /// <summary><c>input</c>: token (+ position) embeddings.</summary>
    Input,
    /// <summary><c>a{l}.h{h}</c>: one attention head's write into the residual stream.</summary>
    Head,
    /// <summary><c>m{l}</c>: one MLP's write.</summary>
    Mlp,
    /// <summary><c>logits</c>: reads the final residual stream.</summary>
    Logits,
}

/// <summary>Which input of a head an edge feeds.</summary>
public enum Port
{
    /// <summary>MLP and logits inputs have a single port.</summary>
    None,
    /// <summary>The query input <c>&lt;q&gt;</c>.</summary>
    Q,
    /// <summary>The key input <c>&lt;k&gt;</c>.</summary>
    K,
    /// <summary>The value input <c>&lt;v&gt;</c>.</summary>
    V,
}

/// <summary>A node of the residual-stream graph (docs/methods.md §1). Names: <c>input</c>, <c>a3.h2</c>, <c>m5</c>, <c>logits</c>.</summary>
public sealed record GraphNode(string Name, NodeKind Kind, int Layer, int Head, int ForwardIndex)
{
    /// <summary>Whether other nodes read this node's output (every node but <c>logits</c>).</summary>
    public bool HasOutput => Kind != NodeKind.Logits;

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// One input of a downstream node: a head's q/k/v port, an MLP's input, or the logits' input, with the EAP-IG backward
/// index (a{l}.h{h}&lt;q|k|v&gt; → l(3H+1)+{0,1,2}·H+h, m{l} → l(3H+1)+3H, logits → last).
/// </summary>
public sealed record GraphInput(GraphNode Node, Port Port, int BackwardIndex)
{
    /// <summary>E.g. <c>a5.h1&lt;q&gt;</c>, <c>m3</c>, <c>logits</c>.</summary>
    public string Name => Node.Name + PortSuffix(Port);

    /// <summary>The suffix of a port in edge names.</summary>
    public static string PortSuffix(Port port) => port switch
    {
        Port.Q => "<q>",
        Port.K => "<k>",
        Port.V => "<v>",
        _ => "",
    };

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>An edge u → v&lt;port&gt;; its name is <c>a3.h2-&gt;a5.h1&lt;q&gt;</c>.</summary>
public sealed record GraphEdge(GraphNode Parent, GraphInput Child, int Index)
{
    /// <summary>The canonical edge name.</summary>
    public string Name => Parent.Name + "->" + Child.Name;

    /// <inheritdoc />
    public override string ToString() => Name;
}
