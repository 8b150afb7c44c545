using MechTests.Graphs;
using MechTests.Hooks;
using MechTests.Models;

namespace MechTests.Patching;

/// <summary>Which nodes a patching or attribution run measures.</summary>
public enum NodeGranularity
{
    /// <summary>Graph nodes: <c>input</c>, <c>a{l}.h{h}</c> (head output), <c>m{l}</c>.</summary>
    Component,
    /// <summary>Each head's query, key and value activations: <c>a{l}.h{h}.q</c>, <c>a{l}.h{h}.k</c>, <c>a{l}.h{h}.v</c> (with grouped-query attention, k/v nodes exist per kv head: <c>a{l}.g{g}.k</c>).</summary>
    QueryKeyValue,
    /// <summary>MLP neurons: <c>m{l}.n{i}</c> (the hidden activation fed to W_out).</summary>
    Neuron,
}

/// <summary>
/// A patchable slice of one hook point's activation: the features <c>[Unit·UnitSize, (Unit+1)·UnitSize)</c> of each
/// position (all features when <see cref="Unit"/> is −1), at one position or all (<see cref="Position"/> −1).
/// Per-position nodes are named with an <c>@p</c> suffix, e.g. <c>a3.h2@5</c>.
/// </summary>
public sealed record ActivationNode(string Name, string Hook, int Layer, int Unit, int UnitSize, int Features, int Position)
{
    /// <summary>Whether the node is a query (true for <c>.q</c> nodes).</summary>
    public bool IsQuery => Hook.EndsWith("hook_q", StringComparison.Ordinal) || Hook.EndsWith("hook_rot_q", StringComparison.Ordinal);

    /// <summary>Whether the node is a key.</summary>
    public bool IsKey => Hook.EndsWith("hook_k", StringComparison.Ordinal) || Hook.EndsWith("hook_rot_k", StringComparison.Ordinal);

    /// <summary>The same node restricted to one position.</summary>
    public ActivationNode AtPosition(int p) => this with { Name = $"{Name}@{p}", Position = p };

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Builds node sets of a model.</summary>
public static class NodeSets
{
    /// <summary>
    /// All nodes of a granularity, in graph order; per position when <paramref name="positions"/> is given
    /// (each node repeated for every position 0..positions−1).
    /// </summary>
    /// <example><code>
    /// var heads = NodeSets.Build(model.Config, NodeGranularity.Component);               // input, a0.h0, …, m4
    /// var perPos = NodeSets.Build(model.Config, NodeGranularity.Component, positions: 12); // input@0, …
    /// </code></example>
    public static IReadOnlyList<ActivationNode> Build(ModelConfig c, NodeGranularity granularity, int? positions = null)
    {
        var nodes = new List<ActivationNode>();
        bool rotary = c.Rotary != RotaryStyle.None;
        switch (granularity)
        {
            case NodeGranularity.Component:
                nodes.Add(new ActivationNode("input", HookNames.Embed, -1, -1, c.DModel, c.DModel, -1));
                for (int l = 0; l < c.NLayers; l++)
                {
                    for (int h = 0; h < c.NHeads; h++)
                        nodes.Add(new ActivationNode($"a{l}.h{h}", HookNames.Result(l), l, h, c.DModel, c.NHeads * c.DModel, -1));
                    nodes.Add(new ActivationNode($"m{l}", HookNames.MlpOut(l), l, -1, c.DModel, c.DModel, -1));
                }
                break;
            case NodeGranularity.QueryKeyValue:
                for (int l = 0; l < c.NLayers; l++)
                {
                    // Keys are taken after rotary so the QK fix can use them directly; patching either is equivalent.
                    for (int h = 0; h < c.NHeads; h++)
                        nodes.Add(new ActivationNode($"a{l}.h{h}.q", rotary ? HookNames.RotQ(l) : HookNames.Q(l), l, h, c.DHead, c.NHeads * c.DHead, -1));
                    string kv = c.NKvHeads == c.NHeads ? "h" : "g";
                    for (int g = 0; g < c.NKvHeads; g++)
                        nodes.Add(new ActivationNode($"a{l}.{kv}{g}.k", rotary ? HookNames.RotK(l) : HookNames.K(l), l, g, c.DHead, c.NKvHeads * c.DHead, -1));
                    for (int g = 0; g < c.NKvHeads; g++)
                        nodes.Add(new ActivationNode($"a{l}.{kv}{g}.v", HookNames.V(l), l, g, c.DHead, c.NKvHeads * c.DHead, -1));
                }
                break;
            case NodeGranularity.Neuron:
                for (int l = 0; l < c.NLayers; l++)
                for (int i = 0; i < c.DMlp; i++)
                    nodes.Add(new ActivationNode($"m{l}.n{i}", HookNames.MlpPost(l), l, i, 1, c.DMlp, -1));
                break;
        }
        if (positions is int t)
            return nodes.SelectMany(n => Enumerable.Range(0, t).Select(n.AtPosition)).ToList();
        return nodes;
    }

    /// <summary>Parses a granularity name: <c>component</c>, <c>qkv</c>, <c>neuron</c>.</summary>
    public static NodeGranularity ParseGranularity(string s) => s switch
    {
        "component" or "node" or "head" => NodeGranularity.Component,
        "qkv" => NodeGranularity.QueryKeyValue,
        "neuron" => NodeGranularity.Neuron,
        _ => throw new ArgumentException($"Unknown node granularity '{s}'; expected component, qkv or neuron."),
    };

    /// <summary>The graph node a component node corresponds to.</summary>
    public static GraphNode? GraphNodeOf(ComputeGraph g, ActivationNode n) => g.TryNode(n.Name, out var node) ? node : null;
}
