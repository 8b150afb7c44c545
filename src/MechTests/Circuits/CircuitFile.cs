using System.Text;
using System.Text.Json.Nodes;
using MechTests.Tasks;

namespace MechTests.Circuits;

/// <summary>
/// A circuit on disk (docs/circuit-format.md): schema version, model identity, task, method and parameters, the
/// circuit's nodes and edges with scores, measured metrics with their conventions, and the tolerances verification
/// uses. Written canonically (<see cref="CanonicalJson"/>): the same inputs give the same bytes; a real change gives
/// a small diff. Reading reports problems as <c>file(line,col): field: problem</c>.
/// </summary>
/// <example><code>
/// var d = CircuitDiscovery.TopN(runs.Graph, EdgeAttribution.EapIg(runs).Scores, n: 40);
/// var file = CircuitFile.Create(d, ModelIdentity.From(model), TaskReference.Inline(runs.Task));
/// file.AddMetrics(MetricEntries.From(CircuitEvaluation.Faithfulness(runs, d.Circuit)));
/// file.Write("circuits/name-copy.json");
/// var back = CircuitFile.Read("circuits/name-copy.json");   // throws CircuitFormatException on bad input
/// </code></example>
public sealed class CircuitFile
{
    /// <summary>The newest schema version this library reads (1; 2 adds <c>model.path</c>; 3 adds <c>roles</c>).</summary>
    public const int CurrentSchemaVersion = 3;

    /// <summary>
    /// The schema version the file is written with: the lowest that holds it — 3 when it carries <see cref="Roles"/>,
    /// 2 when it names its model's <see cref="ModelPath"/>, else 1 (readable by MechTests versions that know only 1).
    /// </summary>
    public int SchemaVersion => Roles.Count > 0 ? 3 : ModelPath != null ? 2 : 1;

    /// <summary>The model the circuit belongs to.</summary>
    public required ModelIdentity Model { get; init; }

    /// <summary>
    /// Where the model is (<c>model.path</c>, docs/circuit-format.md "Circuits of several models"): a llama2.c file or
    /// Hugging Face folder relative to the circuit file's folder ('/' separators), or absolute; <c>%NAME%</c> is an
    /// environment variable. Null: the embedded stories260K. Not part of the identity.
    /// </summary>
    public string? ModelPath { get; init; }

    /// <summary>The task it was found on.</summary>
    public required TaskReference Task { get; init; }

    /// <summary>Discovery method (<c>top-n</c>, <c>acdc</c>, …, or e.g. <c>manual</c>).</summary>
    public required string Method { get; init; }

    /// <summary>Method parameters as invariant strings.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>The circuit (nodes, edges, scores) over the model's graph.</summary>
    public required Circuit Circuit { get; init; }

    /// <summary>Measured values by name (e.g. <c>faithfulness</c>, <c>cpr</c>, <c>completeness</c>); add with <see cref="AddMetrics"/>.</summary>
    public SortedDictionary<string, MetricEntry> Metrics { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Tolerances verification uses when comparing against this file.</summary>
    public CircuitTolerances Tolerances { get; init; } = CircuitTolerances.Default;

    /// <summary>
    /// Role claims about its nodes (schema version 3; docs/circuit-format.md "Role claims"), each with the value
    /// measured when the file was written. Set with <see cref="WithRoles(IEnumerable{RoleClaim})"/>.
    /// </summary>
    public IReadOnlyList<RoleClaim> Roles { get; init; } = [];

    /// <summary>The path the file was read from, if any.</summary>
    public string? SourcePath { get; init; }

    /// <summary>A file for a discovered circuit; <paramref name="extraParameters"/> (e.g. which scores were used) join the method's own.</summary>
    public static CircuitFile Create(DiscoveryResult discovery, ModelIdentity model, TaskReference task,
        IReadOnlyDictionary<string, string>? extraParameters = null, CircuitTolerances? tolerances = null)
    {
        var g = discovery.Circuit.Graph;
        if (g.Layers != model.NLayers || g.Heads != model.NHeads || g.ParallelAttnMlp != model.ParallelAttnMlp)
            throw new ArgumentException($"The circuit's graph ({g.Layers} layers × {g.Heads} heads) does not match the model identity ({model.NLayers} × {model.NHeads}).");
        var parameters = new Dictionary<string, string>(discovery.Parameters, StringComparer.Ordinal);
        if (extraParameters != null) foreach (var (k, v) in extraParameters) parameters[k] = v;
        return new CircuitFile
        {
            Model = model,
            Task = task,
            Method = discovery.Method,
            Parameters = parameters,
            Circuit = discovery.Circuit,
            Tolerances = tolerances ?? CircuitTolerances.Default,
        };
    }

    /// <summary>A copy of this file with other tolerances.</summary>
    public CircuitFile WithTolerances(CircuitTolerances tolerances) => Copy(Model, tolerances);

    /// <summary>
    /// A copy that names where its model is (<see cref="ModelPath"/>; null: the embedded stories260K). Give it relative
    /// to the circuit file's folder so the file works in every clone.
    /// </summary>
    /// <example><code>
    /// file.WithModelPath("../../models/gpt2-small").Write("circuits/gpt2-small/ioi.json");
    /// </code></example>
    public CircuitFile WithModelPath(string? modelPath) => Copy(Model, Tolerances, string.IsNullOrWhiteSpace(modelPath) ? null : modelPath.Replace('\\', '/'));

    /// <summary>
    /// The full path of the model this file names: <see cref="ModelPath"/> with <c>%NAME%</c> expanded, relative to the
    /// folder of <paramref name="circuitFilePath"/> (default: <see cref="SourcePath"/>); null when the file names none
    /// (the embedded stories260K applies).
    /// </summary>
    /// <example><code>
    /// string? model = CircuitFile.Read("circuits/gpt2-small/ioi.json").ResolveModelPath();   // …/models/gpt2-small
    /// </code></example>
    public string? ResolveModelPath(string? circuitFilePath = null, Func<string, string?>? getVariable = null)
    {
        if (ModelPath == null) return null;
        string spec = ProjectPaths.ExpandVariables(ModelPath, getVariable);
        if (System.IO.Path.IsPathRooted(spec)) return System.IO.Path.GetFullPath(spec);
        string? from = circuitFilePath ?? SourcePath;
        string folder = from != null ? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(from)) ?? "." : Directory.GetCurrentDirectory();
        return System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, spec));
    }

    /// <summary>A copy of this file that names another model (same shape, e.g. fine-tuned weights).</summary>
    public CircuitFile ForModel(ModelIdentity model) => Copy(model, Tolerances);

    /// <summary>The same file, remembered as read from (or standing for) <paramref name="sourcePath"/>; not written to JSON.</summary>
    internal CircuitFile WithSourcePath(string? sourcePath) => new()
    {
        Model = Model, ModelPath = ModelPath, Task = Task, Method = Method, Parameters = Parameters, Circuit = Circuit,
        Metrics = new SortedDictionary<string, MetricEntry>(Metrics, StringComparer.Ordinal), Tolerances = Tolerances, Roles = Roles, SourcePath = sourcePath,
    };

    /// <summary>
    /// A copy with these role claims in place of its own (an empty list: none). Each must fit the model's graph
    /// (<see cref="RoleClaim.Problem"/>) and name a (node, kind) once. Values are kept as given; re-deriving or
    /// <see cref="CircuitPipeline.Evaluate(CircuitFile, Models.LoadedModel, EvaluationPlan?, IProgress{string}?)"/> measures them.
    /// </summary>
    /// <exception cref="ArgumentException">A claim that does not fit, or one listed twice.</exception>
    /// <example><code>
    /// var claimed = file.WithRoles(RoleClaim.PromotesAnswer("a2.h6", atLeast: 1.0), RoleClaim.SuppressesAnswer("a4.h2", atMost: -0.3));
    /// </code></example>
    public CircuitFile WithRoles(params IEnumerable<RoleClaim> roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var list = roles.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in list)
        {
            if (RoleClaim.Problem(r, Circuit.Graph) is { } p) throw new ArgumentException($"role {r.Name}: {p.Field}: {p.Problem}", nameof(roles));
            if (!seen.Add(r.Name)) throw new ArgumentException($"role {r.Name} is claimed twice.", nameof(roles));
        }
        return new CircuitFile
        {
            Model = Model, ModelPath = ModelPath, Task = Task, Method = Method, Parameters = Parameters, Circuit = Circuit,
            Metrics = new SortedDictionary<string, MetricEntry>(Metrics, StringComparer.Ordinal), Tolerances = Tolerances, Roles = list, SourcePath = SourcePath,
        };
    }

    /// <summary>The role claims that are not known to hold: measured and missing their threshold, or not measured.</summary>
    /// <example><code>
    /// foreach (var r in CircuitPipeline.Rederive(claim, model).FailingRoles()) Console.WriteLine(r.Describe());
    /// </code></example>
    public IReadOnlyList<RoleClaim> FailingRoles() => Roles.Where(r => r.Holds != true).ToList();

    private CircuitFile Copy(ModelIdentity model, CircuitTolerances tolerances) => Copy(model, tolerances, ModelPath);

    private CircuitFile Copy(ModelIdentity model, CircuitTolerances tolerances, string? modelPath) => new()
    {
        Model = model,
        ModelPath = modelPath,
        Task = Task,
        Method = Method,
        Parameters = Parameters,
        Circuit = Circuit,
        Metrics = new SortedDictionary<string, MetricEntry>(Metrics, StringComparer.Ordinal),
        Tolerances = tolerances,
        Roles = Roles,
        SourcePath = SourcePath,
    };

    /// <summary>Adds (or replaces) metric entries; returns this file for chaining.</summary>
    public CircuitFile AddMetrics(params IEnumerable<KeyValuePair<string, MetricEntry>> entries)
    {
        foreach (var (k, v) in entries) Metrics[k] = v;
        return this;
    }

    /// <summary>The canonical text (LF, sorted keys, one edge per line, 6 significant digits).</summary>
    public string ToJson() => CanonicalJson.Write(ToJsonTree());

    /// <summary>
    /// Writes the canonical text atomically (a temp file in the same folder, then a rename). A relative path is
    /// written in the source tree (<see cref="ProjectPaths.ResolveForWrite"/>), never under bin/.
    /// </summary>
    public void Write(string path) => AtomicFile.WriteAllText(ProjectPaths.ResolveForWrite(path), ToJson());

    /// <summary>
    /// Reads and validates a circuit file. A relative path resolves against the test project and the folders above
    /// it (<see cref="ProjectPaths.Resolve"/>), never against bin/; not found, the error names every folder searched.
    /// </summary>
    public static CircuitFile Read(string path)
    {
        string full = ProjectPaths.Resolve(path, what: "Circuit file");
        if (!File.Exists(full)) throw new FileNotFoundException($"Circuit file not found: {full} is a folder.", full);
        return CircuitFileReader.Read(File.ReadAllBytes(full), full);
    }

    /// <summary>Parses circuit JSON text; <paramref name="source"/> names it in errors.</summary>
    public static CircuitFile Parse(string json, string source = "circuit") => CircuitFileReader.Read(Encoding.UTF8.GetBytes(json), source);

    /// <summary>The file as a JSON tree (the canonical writer sorts keys and formats numbers).</summary>
    public JsonObject ToJsonTree()
    {
        var c = Circuit;
        var edges = new JsonArray();
        foreach (var e in c.Edges)
            edges.Add(c.Scores.TryGetValue(e.Name, out double s) ? new JsonObject { ["name"] = e.Name, ["score"] = s } : JsonValue.Create(e.Name));
        var nodes = new JsonArray();
        foreach (var n in c.Nodes)
            nodes.Add(c.NodeScores.TryGetValue(n.Name, out double s) ? new JsonObject { ["name"] = n.Name, ["score"] = s } : JsonValue.Create(n.Name));
        var metrics = new JsonObject();
        foreach (var (name, m) in Metrics)
        {
            var entry = new JsonObject
            {
                ["conventions"] = Strings(m.Conventions),
                ["unit"] = m.Unit,
                ["value"] = m.Value,
            };
            if (m.Details != null) entry["details"] = m.Details.DeepClone();
            metrics[name] = entry;
        }
        var model = new JsonObject
        {
            ["architecture"] = Model.Architecture,
            ["dModel"] = Model.DModel,
            ["nHeads"] = Model.NHeads,
            ["nLayers"] = Model.NLayers,
            ["parallelAttnMlp"] = Model.ParallelAttnMlp,
            ["vocabSize"] = Model.VocabSize,
            ["weightsSha256"] = Model.WeightsSha256,
        };
        if (ModelPath != null) model["path"] = ModelPath;
        var tree = new JsonObject
        {
            ["circuit"] = new JsonObject { ["edges"] = edges, ["level"] = c.Level == CircuitLevel.Edge ? "edge" : "node", ["nodes"] = nodes },
            ["method"] = new JsonObject { ["name"] = Method, ["parameters"] = Strings(Parameters) },
            ["metrics"] = metrics,
            ["model"] = model,
            ["schemaVersion"] = SchemaVersion,
            ["task"] = TaskTree(Task),
            ["tolerances"] = new JsonObject
            {
                ["faithfulness"] = Tolerances.Faithfulness,
                ["metric"] = Tolerances.Metric,
                ["relative"] = Tolerances.Relative,
                ["score"] = Tolerances.Score,
            },
        };
        if (Roles.Count > 0) tree["roles"] = RolesTree(Roles, c.Graph);
        return tree;
    }

    // Graph order of the node, then the kinds' documented order: one claim per line, the same bytes for any input order.
    private static JsonArray RolesTree(IEnumerable<RoleClaim> roles, Graphs.ComputeGraph graph)
    {
        // Index maps built once, not a list rebuilt per comparison.
        var positions = graph.Nodes.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);
        var kinds = RoleKinds.All.Select((k, i) => (k, i)).ToDictionary(x => x.k, x => x.i, StringComparer.Ordinal);
        int Position(string node) => graph.TryNode(node, out var n) && positions.TryGetValue(n, out int i) ? i : int.MaxValue;
        var ordered = roles.OrderBy(r => Position(r.Node)).ThenBy(r => kinds.GetValueOrDefault(r.Kind, -1)).ThenBy(r => r.Node, StringComparer.Ordinal);
        return new JsonArray(ordered.Select(r =>
        {
            var o = new JsonObject { ["claim"] = r.Kind, ["node"] = r.Node, ["on"] = r.On.ToString() };
            if (r.AtLeast is double a) o["atLeast"] = a;
            if (r.AtMost is double m) o["atMost"] = m;
            if (r.Value is double v) o["value"] = v;
            return (JsonNode?)o;
        }).ToArray());
    }

    private static JsonObject Strings(IEnumerable<KeyValuePair<string, string>> pairs)
        => new(pairs.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, JsonValue.Create(kv.Value))));

    private static JsonObject TaskTree(TaskReference t)
    {
        var o = new JsonObject { ["metric"] = t.Metric, ["name"] = t.Name };
        if (t.Pairs != null)
        {
            static JsonArray Ids(int[] ids) => new(ids.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());
            o["pairs"] = new JsonArray(t.Pairs.Select(p => (JsonNode?)new JsonObject
            {
                ["clean_tokens"] = Ids(p.Clean),
                ["correct_ids"] = Ids(p.Correct),
                ["corrupted_tokens"] = Ids(p.Corrupted),
                ["wrong_ids"] = Ids(p.Wrong),
            }).ToArray());
        }
        else
        {
            o["path"] = t.Path;
            if (t.Sha256 != null) o["sha256"] = t.Sha256;
        }
        return o;
    }
}
