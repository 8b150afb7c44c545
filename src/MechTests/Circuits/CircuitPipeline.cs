using MechTests.Attribution;
using MechTests.Models;
using MechTests.Models.Tokenizers;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.Circuits;

/// <summary>
/// Discovery, evaluation and re-derivation of circuit files end to end — what <c>mechtests discover</c>,
/// <c>evaluate</c> and <c>verify</c> run, as one library call each. A discovered file records everything needed to
/// repeat it (model identity, task, method, parameters, the evaluation plan in its metrics' conventions), so
/// <see cref="Rederive(CircuitFile, LoadedModel, IProgress{string}?, bool)"/> on the same model gives the same circuit and numbers — and a changed model a semantic diff.
/// </summary>
/// <example><code>
/// var model = ModelLoader.Load("models/stories260K/stories260K.bin");
/// var task = MechTask.Load("tasks/name-copy.json", model.Tokenizer, model.Config.VocabSize);
/// var spec = new DiscoverySpec { Method = "greedy", Scores = "edge-patching", N = 20 };
/// var file = CircuitPipeline.Discover(model, task, TaskReference.ToFile(task, "circuits"), spec, EvaluationPlan.Default);
/// file.Write("circuits/name-copy.json");
/// var again = CircuitPipeline.Rederive(CircuitFile.Read("circuits/name-copy.json"), model);
/// new SnapshotVerifier().Verify(again, "circuits/name-copy");   // compares with name-copy.verified.json
/// </code></example>
public static class CircuitPipeline
{
    /// <summary>Discovers a circuit on a loaded model and measures it; the file references <paramref name="taskReference"/>.</summary>
    /// <remarks><paramref name="roles"/> adds role claims (docs/circuit-format.md "Role claims"): given ones, and with
    /// <see cref="RoleRequest.Auto"/> those <see cref="RoleMeasurement.Propose"/> finds for the circuit's heads.</remarks>
    public static CircuitFile Discover(LoadedModel model, MechTask task, TaskReference taskReference, DiscoverySpec spec,
        EvaluationPlan plan, CircuitTolerances? tolerances = null, IProgress<string>? stages = null, RoleRequest? roles = null)
        => Discover(ModelBackends.Create(model), ModelIdentity.From(model), task, taskReference, spec, plan, tolerances, stages, roles, model.Weights);

    /// <summary>
    /// Discovers a circuit on any backend (e.g. a planted model built in code) and measures it. Role claims need
    /// <paramref name="weights"/> for direct logit attribution unless the backend is a <see cref="Transformer"/>.
    /// </summary>
    public static CircuitFile Discover(IModelBackend model, ModelIdentity identity, MechTask task, TaskReference taskReference,
        DiscoverySpec spec, EvaluationPlan plan, CircuitTolerances? tolerances = null, IProgress<string>? stages = null,
        RoleRequest? roles = null, ModelWeights? weights = null)
    {
        spec.Validate();
        using var runs = TaskRuns.Create(model, task);
        var scores = Scores(runs, spec, stages);
        stages?.Report($"discovery: {spec.Method}");
        var discovery = Discover(runs, spec, scores);
        var file = CircuitFile.Create(discovery, identity, taskReference, spec.ScoreParameters(), tolerances);
        if (roles != null && (roles.Auto || roles.Claims.Count > 0))
        {
            // Given claims win over proposals for the same (node, kind).
            var given = roles.Claims.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            var proposed = roles.Auto ? RoleMeasurement.Propose(runs, weights, discovery.Circuit, roles.Keep).Where(r => !given.Contains(r.Name)) : [];
            file = file.WithRoles(roles.Claims.Concat(proposed));
        }
        return Evaluate(runs, file, plan, scores, stages, weights);
    }

    /// <summary>The scores <paramref name="spec"/> ranks (edge or node names → score), or null for ACDC.</summary>
    public static IReadOnlyDictionary<string, double>? Scores(TaskRuns runs, DiscoverySpec spec, IProgress<string>? stages = null)
    {
        if (spec.Scores == null) return null;
        stages?.Report($"scores: {spec.Scores}");
        var agg = spec.EffectiveAggregation;
        if (spec.IsNodeLevel)
        {
            var nodes = NodeSets.Build(runs.Model.Config, NodeGranularity.Component);
            return spec.Scores switch
            {
                "atp" => NodeAttribution.AtP(runs, nodes, agg).Scores,
                "atp-star" => NodeAttribution.AtPStar(runs, nodes).Scores,
                _ => Aggregate(NodePatching.Run(runs, nodes), agg),
            };
        }
        return spec.Scores switch
        {
            "eap" => EdgeAttribution.Eap(runs, agg).Scores,
            "eap-ig" => EdgeAttribution.EapIg(runs, spec.Steps, agg).Scores,
            "atp-star" => EdgeAttribution.AtPStar(runs).Scores,
            _ => Aggregate(EdgePatching.RunEach(runs), agg),
        };
    }

    /// <summary>Runs the discovery method of <paramref name="spec"/> on precomputed <paramref name="scores"/>.</summary>
    public static DiscoveryResult Discover(TaskRuns runs, DiscoverySpec spec, IReadOnlyDictionary<string, double>? scores)
    {
        spec.Validate();
        if (spec.Method == "acdc") return CircuitDiscovery.Acdc(runs, spec.Tau!.Value, spec.AcdcMetric);
        var s = scores ?? throw new ArgumentException($"method {spec.Method} needs scores ({spec.Scores}).");
        var g = runs.Graph;
        return spec.Method switch
        {
            "top-n" => CircuitDiscovery.TopN(g, s, spec.N!.Value, spec.Ranking),
            "threshold" => CircuitDiscovery.Threshold(g, s, spec.Tau!.Value, spec.Ranking),
            "greedy" => CircuitDiscovery.Greedy(g, s, spec.N!.Value, spec.Ranking),
            "top-n-nodes" => CircuitDiscovery.TopNNodes(g, WithoutInput(s), spec.N!.Value, spec.Ranking),
            _ => CircuitDiscovery.ThresholdNodes(g, WithoutInput(s), spec.Tau!.Value, spec.Ranking),
        };
    }

    /// <summary>
    /// <paramref name="file"/> with its metrics measured anew on <paramref name="runs"/>: faithfulness (with clean,
    /// corrupted, circuit), then what <paramref name="plan"/> asks for. Curves need edge <paramref name="scores"/>.
    /// </summary>
    /// <remarks>Role claims are measured anew too (<see cref="RoleMeasurement.Measure"/>); direct-effect claims need
    /// <paramref name="weights"/> unless the runs' engine is a <see cref="Transformer"/>.</remarks>
    public static CircuitFile Evaluate(TaskRuns runs, CircuitFile file, EvaluationPlan plan,
        IReadOnlyDictionary<string, double>? scores = null, IProgress<string>? stages = null, ModelWeights? weights = null)
    {
        var circuit = file.Circuit;
        // Re-measured from scratch: no stale entry survives.
        var result = file.WithTolerances(file.Tolerances);
        result.Metrics.Clear();
        stages?.Report("evaluate: faithfulness");
        result.AddMetrics(MetricEntries.From(CircuitEvaluation.Faithfulness(runs, circuit)));
        if (plan.Curves && circuit.Level == CircuitLevel.Edge && scores != null)
        {
            stages?.Report("evaluate: faithfulness curves (CPR, CMD)");
            var (cpr, cmd) = CircuitEvaluation.MibCurves(runs, scores);
            result.AddMetrics(MetricEntries.Cpr(cpr), MetricEntries.Cmd(cmd));
        }
        if (plan.Completeness != null)
        {
            stages?.Report("evaluate: completeness");
            result.AddMetrics(MetricEntries.From(CircuitEvaluation.Completeness(runs, circuit, plan.Completeness)));
        }
        if (plan.MinimalityDelta is double delta)
        {
            stages?.Report("evaluate: minimality");
            result.AddMetrics(MetricEntries.From(CircuitEvaluation.Minimality(runs, circuit, delta)));
        }
        if (result.Roles.Count > 0)
        {
            stages?.Report("evaluate: role claims");
            result = result.WithRoles(RoleMeasurement.Measure(runs, weights, result.Roles));
        }
        return result;
    }

    /// <summary>Measures a circuit file as it stands (its members are not re-discovered) on a loaded model.</summary>
    public static CircuitFile Evaluate(CircuitFile file, LoadedModel model, EvaluationPlan? plan = null, IProgress<string>? stages = null)
    {
        var runs = Prepare(file, ModelBackends.Create(model), model.WeightsSha256, model.Tokenizer, stages);
        var scores = DiscoverySpec.EdgeScoresOf(file) is { } s ? Scores(runs, s, stages) : null;
        return Evaluate(runs, file, plan ?? EvaluationPlan.Default, scores, stages, model.Weights);
    }

    /// <summary>Re-derives a checked-in circuit on a loaded model (see the other overload).</summary>
    public static CircuitFile Rederive(CircuitFile claim, LoadedModel model, IProgress<string>? stages = null, bool allowDifferentWeights = false)
        => Rederive(claim, ModelBackends.Create(model), model.WeightsSha256, model.Tokenizer, stages, allowDifferentWeights, model.Weights);

    /// <summary>
    /// Repeats what produced <paramref name="claim"/>: checks the model is the one it names, resolves its task, re-runs
    /// its discovery method with its parameters (a method this library does not know, e.g. <c>manual</c>, keeps its
    /// members) and measures what its metrics measured. The result is ready for <see cref="SnapshotVerifier.Verify"/>.
    /// A model whose weights differ from the recorded hash is refused unless <paramref name="allowDifferentWeights"/>
    /// (e.g. to check a fine-tuned model against the circuit of its base): the shape must still match, and the result
    /// names the new weights, so the snapshot diff shows the change of model next to the change of mechanism.
    /// </summary>
    /// <remarks>Role claims are carried over and measured anew; direct-effect claims need <paramref name="weights"/>
    /// unless <paramref name="model"/> is a <see cref="Transformer"/>.</remarks>
    public static CircuitFile Rederive(CircuitFile claim, IModelBackend model, string weightsSha256, ITokenizer? tokenizer,
        IProgress<string>? stages = null, bool allowDifferentWeights = false, ModelWeights? weights = null)
    {
        var plan = EvaluationPlan.FromMetrics(claim);
        var runs = Prepare(claim, model, weightsSha256, tokenizer, stages, allowDifferentWeights);
        var identity = ModelIdentity.From(model.Config, weightsSha256);
        if (identity != claim.Model) claim = claim.ForModel(identity);
        if (!DiscoverySpec.IsDerivable(claim))
        {
            var recorded = DiscoverySpec.EdgeScoresOf(claim) is { } s ? Scores(runs, s, stages) : null;
            return Evaluate(runs, claim, plan, recorded, stages, weights).WithSourcePath(claim.SourcePath);
        }
        var spec = DiscoverySpec.FromFile(claim);
        var scores = Scores(runs, spec, stages);
        stages?.Report($"discovery: {spec.Method}");
        // The claim's model.path travels with it, so an accepted snapshot still says where its model is.
        // So do its role claims, measured anew below.
        var file = CircuitFile.Create(Discover(runs, spec, scores), identity, claim.Task, spec.ScoreParameters(), claim.Tolerances).WithModelPath(claim.ModelPath).WithRoles(claim.Roles);
        // The result stands for the claim's file: messages and MatchVerifiedSnapshot() find its snapshot from it.
        return Evaluate(runs, file, plan, scores, stages, weights).WithSourcePath(claim.SourcePath);
    }

    /// <summary>Checks the model is the one the file names, resolves the task and runs it once.</summary>
    private static TaskRuns Prepare(CircuitFile file, IModelBackend model, string weightsSha256, ITokenizer? tokenizer, IProgress<string>? stages,
        bool allowDifferentWeights = false)
    {
        string where = file.SourcePath ?? "circuit";
        var mismatches = file.Model.Mismatches(model.Config, weightsSha256)
            .Where(m => !(allowDifferentWeights && m.StartsWith("weightsSha256:", StringComparison.Ordinal))).ToList();
        if (mismatches.Count > 0)
            throw new ModelMismatchException(where, mismatches);
        var task = file.Task.Resolve(where, tokenizer, model.Config.VocabSize);
        stages?.Report($"runs: {task.Name} ({task.Pairs.Count} pairs)");
        return TaskRuns.Create(model, task);
    }

    private static IReadOnlyDictionary<string, double> Aggregate(PatchingResult r, Aggregation agg)
    {
        if (agg == Aggregation.SignedMean) return r.Effects;
        var abs = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < r.Names.Count; i++) abs[r.Names[i]] = r.PerPair.Average(row => Math.Abs(row[i]));
        return abs;
    }

    // Node scores include the embedding, which every node-level circuit holds anyway.
    private static IReadOnlyDictionary<string, double> WithoutInput(IReadOnlyDictionary<string, double> s)
        => s.Where(kv => kv.Key != "input").ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
}

/// <summary>
/// Which role claims discovery attaches to the file it writes (<c>mechtests discover --role …</c>, <c>--roles auto</c>).
/// </summary>
/// <example><code>
/// var roles = new RoleRequest { Auto = true, Claims = [RoleClaim.PromotesAnswer("a2.h6", atLeast: 1.0)] };
/// var file = CircuitPipeline.Discover(model, task, reference, spec, EvaluationPlan.Default, roles: roles);
/// </code></example>
public sealed record RoleRequest
{
    /// <summary>Claims given by hand; they win over proposals for the same node and kind.</summary>
    public IReadOnlyList<RoleClaim> Claims { get; init; } = [];

    /// <summary>Also propose claims for the circuit's heads from measurements (<see cref="RoleMeasurement.Propose"/>).</summary>
    public bool Auto { get; init; }

    /// <summary>The fraction of the measured value a proposed threshold keeps (default 0.5), before rounding toward zero to one significant digit.</summary>
    public double Keep { get; init; } = 0.5;
}
