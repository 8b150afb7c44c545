using System.CommandLine;
using MechTests.Attribution;
using MechTests.Circuits;
using MechTests.Tasks;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests discover --model PATH --task TASK.json --method M [--scores S] [--n N | --tau T] --out circuits/NAME.json</c>:
/// finds a circuit, measures it (faithfulness, CPR/CMD, completeness, minimality) and writes the canonical circuit file.
/// </summary>
internal static class DiscoverCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder or llama2.c .bin. Default: the embedded stories260K." };
        var task = new Option<string>("--task") { Description = "Task file (JSON; see docs/tasks.md).", Required = true };
        var method = new Option<string>("--method") { Description = $"Discovery method: {string.Join(", ", DiscoverySpec.Methods)}.", Required = true };
        var scores = new Option<string?>("--scores") { Description = $"Scores to rank. Edges: {string.Join(", ", DiscoverySpec.EdgeScoreSources)}; nodes: {string.Join(", ", DiscoverySpec.NodeScoreSources)}. Default: edge-patching (node-patching for node methods); none for acdc." };
        var aggregation = new Option<string?>("--aggregation") { Description = "signed_mean or abs_mean (default: the score source's convention)." };
        var n = new Option<int?>("--n") { Description = "Components to keep (top-n, greedy, top-n-nodes)." };
        var tau = new Option<double?>("--tau") { Description = "Threshold τ (threshold, threshold-nodes, acdc)." };
        var ranking = new Option<string>("--ranking") { Description = "absolute or signed.", DefaultValueFactory = _ => "absolute" };
        var steps = new Option<int>("--steps") { Description = "EAP-IG interpolation steps m.", DefaultValueFactory = _ => 5 };
        var acdcMetric = new Option<string>("--acdc-metric") { Description = "What ACDC measures: task or kl.", DefaultValueFactory = _ => "task" };
        var inlineTask = new Option<bool>("--inline-task") { Description = "Store the task's token ids in the circuit file instead of a path + SHA-256." };
        var noCurves = new Option<bool>("--no-curves") { Description = "Skip the MIB faithfulness curves (CPR, CMD)." };
        var noCompleteness = new Option<bool>("--no-completeness") { Description = "Skip the completeness search." };
        var randomSets = new Option<int>("--completeness-random") { Description = "Random sets K for completeness.", DefaultValueFactory = _ => 16 };
        var greedySteps = new Option<int>("--completeness-greedy") { Description = "Greedy steps for completeness.", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Seed of the completeness search.", DefaultValueFactory = _ => 0 };
        var delta = new Option<double?>("--minimality-delta") { Description = "Minimality threshold δ (default 0.01; negative skips minimality).", DefaultValueFactory = _ => 0.01 };
        var role = new Option<string[]>("--role")
        {
            Description = "Attach a role claim, NODE=KIND:THRESHOLD[@ON] (repeatable): a2.h6=promotes-answer:0.5, a4.h2=suppresses-answer:-0.2 (atMost), " +
                          "a1.h4=previous-token-head:0.4@task; kinds: " + string.Join(", ", RoleKinds.All) + ". Measured and recorded with the circuit (docs/circuit-format.md).",
            AllowMultipleArgumentsPerToken = false,
        };
        var roles = new Option<string>("--roles") { Description = "auto: also propose role claims for the circuit's heads from measurements (DLA, previous-token, induction, duplicate-token scores), thresholds kept with a margin (--role-keep); none: only --role.", DefaultValueFactory = _ => "none" };
        var roleKeep = new Option<double>("--role-keep") { Description = "With --roles auto: a proposed threshold is this fraction of the measured value, rounded toward zero to one significant digit.", DefaultValueFactory = _ => 0.5 };
        var output = new Option<string>("--out") { Description = "Where to write the circuit file (e.g. circuits/name-copy.json).", Required = true };
        var cmd = new Command("discover", "Find a circuit from scores (or ACDC), measure it and write the canonical circuit file.")
            { model, task, method, scores, aggregation, n, tau, ranking, steps, acdcMetric, inlineTask, noCurves, noCompleteness, randomSets, greedySteps, seed, delta, role, roles, roleKeep, output };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            string m = r.GetValue(method)!;
            bool nodeLevel = m.EndsWith("-nodes", StringComparison.Ordinal);
            var spec = new DiscoverySpec
            {
                Method = m,
                Scores = r.GetValue(scores) ?? (m == "acdc" ? null : nodeLevel ? "node-patching" : "edge-patching"),
                Aggregation = r.GetValue(aggregation) switch
                {
                    null => null,
                    "signed_mean" => Aggregation.SignedMean,
                    "abs_mean" => Aggregation.AbsMean,
                    var s => throw new ArgumentException($"--aggregation '{s}': expected signed_mean or abs_mean."),
                },
                N = r.GetValue(n),
                Tau = r.GetValue(tau),
                Ranking = ScoreRankings.Parse(r.GetValue(ranking)!),
                Steps = r.GetValue(steps),
                AcdcMetric = r.GetValue(acdcMetric) switch
                {
                    "task" => AcdcMetric.Task,
                    "kl" => AcdcMetric.Kl,
                    var s => throw new ArgumentException($"--acdc-metric '{s}': expected task or kl."),
                },
            }.Validate();
            var plan = new EvaluationPlan
            {
                Curves = !r.GetValue(noCurves),
                Completeness = r.GetValue(noCompleteness) ? null : new CompletenessOptions { RandomSets = r.GetValue(randomSets), GreedySteps = r.GetValue(greedySteps), Seed = r.GetValue(seed) },
                MinimalityDelta = r.GetValue(delta) is double d && d >= 0 ? d : null,
            };
            bool autoRoles = r.GetValue(roles) switch
            {
                "auto" => true,
                "none" => false,
                var s => throw new ArgumentException($"--roles '{s}': expected auto or none."),
            };
            double keep = r.GetValue(roleKeep);
            if (!(keep is > 0 and <= 1)) throw new ArgumentException($"--role-keep {keep}: expected a fraction in (0, 1].");
            string outPath = r.GetValue(output)!;
            string outFolder = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
            if (!Directory.Exists(outFolder)) throw new DirectoryNotFoundException($"--out: folder '{outFolder}' does not exist.");
            AtomicFile.CheckWritable(outPath, "--out"); // before the computation, so it is not lost
            var loaded = CliSupport.LoadModel(r.GetValue(model));
            var mechTask = MechTask.Load(r.GetValue(task)!, loaded.Tokenizer, loaded.Config.VocabSize);
            var reference = r.GetValue(inlineTask) ? TaskReference.Inline(mechTask) : TaskReference.ToFile(mechTask, outFolder);
            var graph = Graphs.ComputeGraph.For(loaded.Config);
            var claims = (r.GetValue(role) ?? []).Select(x => RoleClaim.Parse(x, graph)).ToList();
            foreach (var twice in claims.GroupBy(c => c.Name).Where(g => g.Count() > 1))
                throw new ArgumentException($"--role: {twice.Key} is given {twice.Count()} times.");
            // Before the discovery, so a claim the model's context cannot measure does not cost the whole run.
            foreach (var claim in claims)
                if (claim.ContextProblem(loaded.Config) is { } tooLong) throw new ArgumentException($"--role: {tooLong}");
            var roleRequest = new RoleRequest { Claims = claims, Auto = autoRoles, Keep = keep };
            var file = CliSupport.WithStages("discover", stages => CircuitPipeline.Discover(loaded, mechTask, reference, spec, plan, stages: stages, roles: roleRequest),
                expectedStages: 6 + (claims.Count > 0 || autoRoles ? 1 : 0)); // scores, discovery, faithfulness, curves, completeness, minimality, roles
            // A model other than the embedded one is recorded where it is, relative to the circuit (model.path), so
            // verify and [CircuitFiles] rows find it without being told.
            if (r.GetValue(model) is { Length: > 0 } given && Path.GetFullPath(given) != Path.GetFullPath(CliSupport.DefaultModelPath))
                file = file.WithModelPath(Path.GetRelativePath(outFolder, Path.GetFullPath(given)).Replace('\\', '/'));
            // A claim given by hand that the measurement contradicts is not written: a file that cannot verify helps no one.
            var failing = file.FailingRoles();
            if (failing.Count > 0)
            {
                foreach (var claim in failing)
                    Console.Error.WriteLine($"error: --role {claim.Explain(convention: true)}");
                Console.Error.WriteLine($"{outPath} not written: lower or remove the claim{(failing.Count == 1 ? "" : "s")} above.");
                return 1;
            }
            file.Write(outPath);
            Console.WriteLine($"{outPath}: {file.Method} on {(spec.Scores ?? "patching as it goes")}: {file.Circuit.Nodes.Count} nodes, {file.Circuit.Edges.Count} edges; " +
                              $"faithfulness {CliSupport.Figure(file, "faithfulness")} ({file.Metrics["faithfulness"].Conventions["ablation"]}, {MetricNames.Of(mechTask.Metric)})");
            foreach (var claim in file.Roles) Console.WriteLine($"  role {claim.Explain()}");
            return 0;
        }));
        return cmd;
    }
}
