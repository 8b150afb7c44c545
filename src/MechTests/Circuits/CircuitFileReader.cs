using System.Text.Json;
using MechTests.Graphs;
using MechTests.Models;
using MechTests.Tasks;

namespace MechTests.Circuits;

/// <summary>Reads circuit files with errors located at file(line,col) and named by field.</summary>
internal static class CircuitFileReader
{
    // Every problem carries a code (docs/circuit-format.md "Errors") so the build-time check can report it as MECH01xx.
    private const string InvalidValue = CircuitFormatException.InvalidValueCode;

    public static CircuitFile Read(byte[] utf8, string file)
    {
        var root = JsonTree.Parse(utf8, file).AsObject();
        // The version first: a newer file's new fields should read as "newer schema", not as typos.
        var versionNode = root.Require("schemaVersion");
        int version = versionNode.AsInt();
        if (version is < 1 or > CircuitFile.CurrentSchemaVersion)
            throw versionNode.Error(version > CircuitFile.CurrentSchemaVersion
                ? $"schema version {version} was written by a newer MechTests; this version reads schema 1 to {CircuitFile.CurrentSchemaVersion}. Upgrade MechTests."
                : $"schema version {version} is not supported; expected 1 to {CircuitFile.CurrentSchemaVersion}.", CircuitFormatException.SchemaVersionCode);
        // roles arrived with schema version 3; in an older file it is an unknown field, as an older reader sees it.
        if (version >= 3) root.OnlyKeys("circuit", "method", "metrics", "model", "roles", "schemaVersion", "task", "tolerances");
        else root.OnlyKeys("circuit", "method", "metrics", "model", "schemaVersion", "task", "tolerances");
        var (model, modelPath) = ReadModel(root.Require("model"), version);
        var graph = model.Graph();
        var task = ReadTask(root.Require("task"), model.VocabSize);
        var (method, parameters) = ReadMethod(root.Require("method"));
        var circuit = ReadCircuit(root.Require("circuit"), graph, model);
        var metrics = root.Get("metrics") is { } m ? ReadMetrics(m) : new SortedDictionary<string, MetricEntry>(StringComparer.Ordinal);
        var tolerances = root.Get("tolerances") is { } t ? ReadTolerances(t) : CircuitTolerances.Default;
        var roles = root.Get("roles") is { } r ? ReadRoles(r, graph) : [];
        return new CircuitFile
        {
            Model = model,
            ModelPath = modelPath,
            Task = task,
            Method = method,
            Parameters = parameters,
            Circuit = circuit,
            Metrics = metrics,
            Tolerances = tolerances,
            Roles = roles,
            SourcePath = file,
        };
    }

    private static (ModelIdentity, string?) ReadModel(JsonTree m, int version)
    {
        // model.path arrived with schema version 2; in a version-1 file it is an unknown field, as an older reader sees it.
        if (version >= 2) m.AsObject().OnlyKeys("architecture", "dModel", "nHeads", "nLayers", "parallelAttnMlp", "path", "vocabSize", "weightsSha256");
        else m.AsObject().OnlyKeys("architecture", "dModel", "nHeads", "nLayers", "parallelAttnMlp", "vocabSize", "weightsSha256");
        string? path = null;
        if (m.Get("path") is { } p)
        {
            path = p.AsString();
            if (string.IsNullOrWhiteSpace(path)) throw p.Error("expected a model file or folder (relative to the circuit file's folder), found an empty string; leave 'path' out for the embedded stories260K.", InvalidValue);
        }
        var arch = m.Require("architecture");
        string a = arch.AsString();
        if (a is not ("gpt2" or "gpt_neox" or "llama")) throw arch.Error($"architecture '{a}' is unknown; expected gpt2, gpt_neox or llama.", InvalidValue);
        var sha = m.Require("weightsSha256");
        string s = sha.AsString();
        if (s.Length != 64 || !s.All(Uri.IsHexDigit)) throw sha.Error($"expected 64 hex digits (SHA-256 of the weights), found '{s}'.", InvalidValue);
        // Every size is bounded before anything is built from it (docs/reliability.md): a file stating 2^31−1 layers is
        // a located error, not an allocation.
        int Bounded(string field, int max)
        {
            var node = m.Require(field);
            int v = node.AsInt(1);
            if (v > max) throw node.Error($"{v} is more than any supported model has (at most {max}).", InvalidValue);
            return v;
        }
        int layers = Bounded("nLayers", ModelLimits.MaxLayers), heads = Bounded("nHeads", ModelLimits.MaxHeads);
        int dModel = Bounded("dModel", ModelLimits.MaxDModel), vocab = Bounded("vocabSize", ModelLimits.MaxVocab);
        bool parallel = m.Require("parallelAttnMlp").AsBool();
        if (ModelLimits.GraphProblem(layers, heads, parallel) is { } problem) throw m.Require("nHeads").Error($"{problem}.", InvalidValue);
        return (new ModelIdentity(a, layers, heads, dModel, vocab, parallel, s.ToLowerInvariant()), path);
    }

    private static TaskReference ReadTask(JsonTree t, int vocab)
    {
        t.AsObject().OnlyKeys("metric", "name", "pairs", "path", "sha256");
        var metricNode = t.Require("metric");
        string metric = metricNode.AsString();
        if (MetricNames.Parse(metric) is not MetricKind kind) throw metricNode.Error($"metric '{metric}' is unknown; expected one of {MetricNames.All}.", InvalidValue);
        string name = t.Require("name").AsString();
        var pairsNode = t.Get("pairs");
        var pathNode = t.Get("path");
        if ((pairsNode == null) == (pathNode == null)) throw t.Error("give either 'pairs' (inline token ids) or 'path' (+ 'sha256'), not both or neither.", CircuitFormatException.StructureCode);
        if (pathNode != null)
        {
            var shaNode = t.Get("sha256");
            return new TaskReference { Name = name, Metric = metric, Path = pathNode.AsString(), Sha256 = shaNode?.AsString() };
        }
        var pairs = new List<PromptPair>();
        foreach (var p in pairsNode!.AsArray().Items)
        {
            p.AsObject().OnlyKeys("clean_tokens", "correct_ids", "corrupted_tokens", "wrong_ids");
            int[] Ids(string field, bool required)
            {
                var node = p.Get(field);
                if (node == null)
                {
                    if (required) throw p.Error($"missing field '{field}'.", CircuitFormatException.StructureCode);
                    return [];
                }
                return node.AsArray().Items.Select(x =>
                {
                    int id = x.AsInt(0);
                    if (id >= vocab) throw x.Error($"token id {id} is outside the model's vocabulary 0..{vocab - 1}.", InvalidValue);
                    return id;
                }).ToArray();
            }
            pairs.Add(new PromptPair(pairs.Count, Ids("clean_tokens", true), Ids("corrupted_tokens", true), Ids("correct_ids", true), Ids("wrong_ids", false)));
        }
        try
        {
            _ = new MechTask(name, kind, pairs, "task"); // validates lengths and answers
        }
        catch (InvalidDataException e)
        {
            throw pairsNode.Error(e.Message.StartsWith("task: ", StringComparison.Ordinal) ? e.Message[6..] : e.Message, InvalidValue);
        }
        return new TaskReference { Name = name, Metric = metric, Pairs = pairs };
    }

    private static (string, IReadOnlyDictionary<string, string>) ReadMethod(JsonTree m)
    {
        m.AsObject().OnlyKeys("name", "parameters");
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (m.Get("parameters") is { } p)
            foreach (var (k, v) in p.AsObject().Properties) parameters[k] = v.AsString();
        return (m.Require("name").AsString(), parameters);
    }

    private static Circuit ReadCircuit(JsonTree c, ComputeGraph graph, ModelIdentity model)
    {
        c.AsObject().OnlyKeys("edges", "level", "nodes");
        var levelNode = c.Require("level");
        var level = levelNode.AsString() switch
        {
            "edge" => CircuitLevel.Edge,
            "node" => CircuitLevel.Node,
            var s => throw levelNode.Error($"level '{s}' is unknown; expected edge or node.", InvalidValue),
        };
        string shape = $"a {model.NLayers}-layer, {model.NHeads}-head model{(model.ParallelAttnMlp ? " with parallel attention/MLP" : "")}";
        var nodes = new List<string>();
        var nodeScores = new Dictionary<string, double>(StringComparer.Ordinal);
        var nodeSet = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in c.Require("nodes").AsArray().Items)
        {
            var (name, nameNode, score) = NameAndScore(item);
            if (!graph.TryNode(name, out _)) throw nameNode.Error($"node '{name}' does not exist in {shape} (nodes: input, a0.h0..a{model.NLayers - 1}.h{model.NHeads - 1}, m0..m{model.NLayers - 1}, logits).", CircuitFormatException.UnknownNameCode);
            if (!nodeSet.Add(name)) throw nameNode.Error($"node '{name}' is listed twice.", CircuitFormatException.DuplicateCode);
            nodes.Add(name);
            if (score is double s) nodeScores[name] = s;
        }
        var edges = new List<string>();
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        var edgeSet = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in c.Require("edges").AsArray().Items)
        {
            var (name, nameNode, score) = NameAndScore(item);
            if (!graph.TryEdge(name, out var edge)) throw nameNode.Error(ExplainMissingEdge(graph, name, shape), CircuitFormatException.UnknownNameCode);
            if (!edgeSet.Add(name)) throw nameNode.Error($"edge '{name}' is listed twice.", CircuitFormatException.DuplicateCode);
            foreach (var end in new[] { edge.Parent.Name, edge.Child.Node.Name })
                if (end != "logits" && !nodeSet.Contains(end))
                    throw nameNode.Error($"edge '{name}' needs node '{end}', which is not in circuit.nodes; add the node or remove the edge.", CircuitFormatException.DanglingReferenceCode);
            edges.Add(name);
            if (score is double s) scores[name] = s;
        }
        return Circuit.Create(graph, level, nodes, edges, scores, nodeScores);
    }

    private static (string Name, JsonTree NameNode, double? Score) NameAndScore(JsonTree item)
    {
        if (item.Kind == JsonValueKind.String) return (item.Text!, item, null);
        item.AsObject().OnlyKeys("name", "score");
        var nameNode = item.Require("name");
        return (nameNode.AsString(), nameNode, item.Get("score") is { } s ? s.AsNumber() : null);
    }

    /// <summary>Why an edge name is not in the graph, in the most specific words available.</summary>
    internal static string ExplainMissingEdge(ComputeGraph graph, string name, string shape)
    {
        int arrow = name.IndexOf("->", StringComparison.Ordinal);
        if (arrow < 0) return $"'{name}' is not an edge name; edges look like 'a0.h1->a2.h3<q>', 'input->m0', 'm1->logits'.";
        string parent = name[..arrow], child = name[(arrow + 2)..];
        int port = child.IndexOf('<');
        string childNode = port >= 0 ? child[..port] : child;
        if (!graph.TryNode(parent, out _)) return $"edge '{name}' does not exist in {shape}: there is no node '{parent}'.";
        if (!graph.TryNode(childNode, out var cn)) return $"edge '{name}' does not exist in {shape}: there is no node '{childNode}'.";
        if (cn.Kind == NodeKind.Head && port < 0) return $"edge '{name}' does not exist: edges into a head name its input port, e.g. '{name}<q>', '<k>' or '<v>'.";
        if (cn.Kind != NodeKind.Head && port >= 0) return $"edge '{name}' does not exist: only heads have <q>/<k>/<v> ports; write '{parent}->{childNode}'.";
        return $"edge '{name}' does not exist in {shape}: '{childNode}' does not read '{parent}' (a node reads only earlier layers; an MLP also reads its own layer's heads{(graph.ParallelAttnMlp ? ", except with parallel attention/MLP" : "")}).";
    }

    private static SortedDictionary<string, MetricEntry> ReadMetrics(JsonTree m)
    {
        var result = new SortedDictionary<string, MetricEntry>(StringComparer.Ordinal);
        foreach (var (name, e) in m.AsObject().Properties)
        {
            e.AsObject().OnlyKeys("conventions", "details", "unit", "value");
            var unitNode = e.Require("unit");
            string unit = unitNode.AsString();
            if (!MetricUnits.All.Contains(unit)) throw unitNode.Error($"unit '{unit}' is unknown; expected one of {string.Join(", ", MetricUnits.All)}.", InvalidValue);
            var conventions = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in e.Require("conventions").AsObject().Properties) conventions[k] = v.AsString();
            var details = e.Get("details") is { } d ? (System.Text.Json.Nodes.JsonObject)d.AsObject().ToNode()! : null;
            result[name] = new MetricEntry(e.Require("value").AsNumber(), unit, conventions, details);
        }
        return result;
    }

    private static List<RoleClaim> ReadRoles(JsonTree roles, ComputeGraph graph)
    {
        var result = new List<RoleClaim>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in roles.AsArray().Items)
        {
            item.AsObject().OnlyKeys("atLeast", "atMost", "claim", "node", "on", "value");
            var nodeNode = item.Require("node");
            var kindNode = item.Require("claim");
            string node = nodeNode.AsString(), kind = kindNode.AsString();
            var onNode = item.Get("on");
            RoleSource? on = RoleKinds.IsDirectEffect(kind) ? RoleSource.TaskPrompts : RoleSource.DefaultRepeats;
            if (onNode != null && (on = RoleSource.Parse(onNode.AsString())) == null)
                throw onNode.Error($"'{onNode.Text}' is not a source; expected {RoleSource.Forms}.", InvalidValue);
            var claim = new RoleClaim
            {
                Node = node,
                Kind = kind,
                AtLeast = item.Get("atLeast")?.AsNumber(),
                AtMost = item.Get("atMost")?.AsNumber(),
                On = on!,
                Value = item.Get("value")?.AsNumber(),
            };
            if (RoleClaim.Problem(claim, graph) is { } p)
            {
                // At the field at fault; a missing threshold at the claim's object.
                var at = p.Field switch { "node" => nodeNode, "claim" => kindNode, "on" => onNode ?? item, var f => item.Get(f) ?? item };
                throw at.Error(p.Problem, p.Code);
            }
            if (!seen.Add(claim.Name)) throw kindNode.Error($"role {claim.Name} is claimed twice.", CircuitFormatException.DuplicateCode);
            result.Add(claim);
        }
        return result;
    }

    private static CircuitTolerances ReadTolerances(JsonTree t)
    {
        t.AsObject().OnlyKeys("faithfulness", "metric", "relative", "score");
        double Get(string key, double fallback)
        {
            if (t.Get(key) is not { } n) return fallback;
            double v = n.AsNumber();
            if (!(v >= 0)) throw n.Error($"tolerance must be a number ≥ 0, found {n.Describe()}.", InvalidValue);
            return v;
        }
        var d = CircuitTolerances.Default;
        return new CircuitTolerances(Get("score", d.Score), Get("faithfulness", d.Faithfulness), Get("metric", d.Metric), Get("relative", d.Relative));
    }
}
