using System.Text;
using System.Text.Json;
using MechTests.Graphs;
using MechTests.Models;

namespace MechTests.Circuits;

/// <summary>A graph read from EAP-IG/MIB JSON: every edge's score and the circuit its <c>in_graph</c> flags mark.</summary>
/// <param name="Graph">The graph its <c>cfg</c> describes.</param>
/// <param name="Circuit">Nodes and edges with <c>in_graph: true</c> (as given, not pruned), scores attached.</param>
/// <param name="Scores">Score of every listed edge (in the circuit or not), for re-thresholding.</param>
/// <param name="NodeScores">Node scores when the file has them (node-level attribution), else empty.</param>
/// <param name="DModel"><c>cfg.d_model</c>, or null when absent.</param>
public sealed record MibGraph(ComputeGraph Graph, Circuit Circuit, IReadOnlyDictionary<string, double> Scores, IReadOnlyDictionary<string, double> NodeScores, int? DModel);

/// <summary>
/// Import and export of the graph JSON written by EAP-IG's <c>Graph.to_json</c> and read by the MIB circuit track:
/// <c>{"cfg": {"n_layers", "n_heads", "parallel_attn_mlp", "d_model"}, "nodes": {"a0.h1": {"in_graph": true}, …},
/// "edges": {"a0.h1->a2.h3&lt;q&gt;": {"score": 0.12, "in_graph": false}, …}}</c>. Node and edge names are the same as
/// ours. Exported scores keep full precision (other tools re-rank them); entries are in graph order, one per line.
/// Python's <c>NaN</c>/<c>Infinity</c> literals (unscored nodes) read as missing scores; NaN scores are exported as
/// <c>null</c>. Neuron-level graphs (<c>neurons</c> keys) are not supported.
/// </summary>
/// <example><code>
/// File.WriteAllText("graph.json", MibGraphJson.Export(circuit, allScores, dModel: 768));
/// MibGraph g = MibGraphJson.Read("graph.json");
/// var again = CircuitDiscovery.TopN(g.Graph, g.Scores, 200).Circuit;
/// </code></example>
public static class MibGraphJson
{
    /// <summary>
    /// The MIB JSON of a circuit: every graph node and edge with <c>in_graph</c> set from membership, edge scores from
    /// <paramref name="scores"/> (all edges; default the circuit's own scores, 0 where unknown).
    /// </summary>
    public static string Export(Circuit circuit, IReadOnlyDictionary<string, double>? scores = null, int? dModel = null)
    {
        var g = circuit.Graph;
        scores ??= circuit.Scores;
        var sb = new StringBuilder();
        sb.Append("{\n  \"cfg\": {");
        if (dModel is int d) sb.Append("\"d_model\": ").Append(Invariant.I(d)).Append(", ");
        sb.Append("\"n_heads\": ").Append(Invariant.I(g.Heads)).Append(", \"n_layers\": ").Append(Invariant.I(g.Layers))
          .Append(", \"parallel_attn_mlp\": ").Append(g.ParallelAttnMlp ? "true" : "false").Append("},\n");
        sb.Append("  \"nodes\": {\n");
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var n = g.Nodes[i];
            sb.Append("    ").Append(CanonicalJson.String(n.Name)).Append(": {\"in_graph\": ").Append(circuit.ContainsNode(n) ? "true" : "false");
            if (circuit.NodeScores.TryGetValue(n.Name, out double ns)) sb.Append(", \"score\": ").Append(Full(ns));
            sb.Append('}').Append(i + 1 < g.Nodes.Count ? ",\n" : "\n");
        }
        sb.Append("  },\n  \"edges\": {\n");
        for (int i = 0; i < g.Edges.Count; i++)
        {
            var e = g.Edges[i];
            double s = scores.TryGetValue(e.Name, out double v) ? v : 0;
            sb.Append("    ").Append(CanonicalJson.String(e.Name)).Append(": {\"score\": ").Append(Full(s))
              .Append(", \"in_graph\": ").Append(circuit.Contains(e) ? "true" : "false").Append('}')
              .Append(i + 1 < g.Edges.Count ? ",\n" : "\n");
        }
        sb.Append("  }\n}\n");
        return sb.ToString();
    }

    /// <summary>Writes <see cref="Export"/>'s text atomically.</summary>
    public static void Write(string path, Circuit circuit, IReadOnlyDictionary<string, double>? scores = null, int? dModel = null)
        => AtomicFile.WriteAllText(path, Export(circuit, scores, dModel));

    /// <summary>Reads a MIB/EAP-IG graph file.</summary>
    public static MibGraph Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Graph file not found: {path}", path);
        return Import(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses MIB/EAP-IG graph JSON text; errors name <paramref name="source"/>(line,col) and the field.</summary>
    public static MibGraph Import(string json, string source = "graph.json") => Import(Encoding.UTF8.GetBytes(json), source);

    private static MibGraph Import(byte[] utf8, string source)
    {
        var root = JsonTree.Parse(PythonNonFiniteToNull(utf8), source).AsObject();
        var cfg = root.Require("cfg").AsObject();
        var layersNode = cfg.Require("n_layers");
        var headsNode = cfg.Require("n_heads");
        int layers = layersNode.AsInt(1), heads = headsNode.AsInt(1);
        bool parallel = cfg.Get("parallel_attn_mlp") is { } p && p.AsBool();
        // Bounded before the graph exists, as for circuit files (docs/reliability.md).
        if (layers > ModelLimits.MaxLayers) throw layersNode.Error($"{layers} layers is more than any supported model has (at most {ModelLimits.MaxLayers}).");
        if (ModelLimits.GraphProblem(layers, heads, parallel) is { } problem) throw headsNode.Error($"{problem}.");
        int? dModel = cfg.Get("d_model") is { Kind: JsonValueKind.Number } dm ? dm.AsInt(1) : null;
        var graph = ComputeGraph.For(new ModelConfig { NLayers = layers, NHeads = heads, NKvHeads = heads, ParallelAttnMlp = parallel });
        string shape = $"a {layers}-layer, {heads}-head model{(parallel ? " with parallel attention/MLP" : "")}";

        var nodes = new List<string>();
        var nodeScores = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, n) in root.Require("nodes").AsObject().Properties)
        {
            if (!graph.TryNode(name, out _)) throw n.Error($"node '{name}' does not exist in {shape}.");
            n.AsObject();
            if (n.Get("neurons") != null || n.Get("neurons_scores") != null) throw n.Error("neuron-level graphs are not supported; export at edge or node level.");
            if (n.Require("in_graph").AsBool()) nodes.Add(name);
            if (n.Get("score") is { } s && s.Kind != JsonValueKind.Null) nodeScores[name] = s.AsNumber();
        }
        var edges = new List<string>();
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, e) in root.Require("edges").AsObject().Properties)
        {
            if (!graph.TryEdge(name, out _)) throw e.Error(CircuitFileReader.ExplainMissingEdge(graph, name, shape));
            e.AsObject();
            if (e.Get("score") is { } s && s.Kind != JsonValueKind.Null) scores[name] = s.AsNumber();
            if (e.Require("in_graph").AsBool()) edges.Add(name);
        }
        var circuit = Circuit.Create(graph, CircuitLevel.Edge, nodes, edges, scores, nodeScores);
        return new MibGraph(graph, circuit, scores, nodeScores, dModel);
    }

    /// <summary>
    /// Python's json.dump writes NaN / Infinity / -Infinity (EAP-IG's unscored nodes are NaN), which is not JSON:
    /// outside strings they become null (padded with spaces where the token is longer, so columns stay put).
    /// </summary>
    internal static byte[] PythonNonFiniteToNull(byte[] utf8)
    {
        var output = new List<byte>(utf8.Length + 16);
        bool inString = false;
        for (int i = 0; i < utf8.Length; i++)
        {
            byte b = utf8[i];
            if (inString)
            {
                output.Add(b);
                if (b == (byte)'\\' && i + 1 < utf8.Length) output.Add(utf8[++i]);
                else if (b == (byte)'"') inString = false;
                continue;
            }
            if (b == (byte)'"') inString = true;
            int len = Token(utf8, i, "-Infinity") ?? Token(utf8, i, "Infinity") ?? Token(utf8, i, "NaN") ?? 0;
            if (len == 0)
            {
                output.Add(b);
                continue;
            }
            output.AddRange("null"u8.ToArray());
            for (int k = 4; k < len; k++) output.Add((byte)' ');
            i += len - 1;
        }
        return output.ToArray();
    }

    private static int? Token(byte[] s, int at, string token)
    {
        if (at + token.Length > s.Length) return null;
        for (int k = 0; k < token.Length; k++) if (s[at + k] != (byte)token[k]) return null;
        return token.Length;
    }

    private static string Full(double x) => double.IsFinite(x) ? (x == 0 ? "0.0" : Invariant.R(x)) : "NaN";
}
