using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using MechTests.Circuits;
using Spectre.Console;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests evaluate --circuit circuits/NAME.json [--model PATH] --json</c>: measures the circuit as it stands —
/// faithfulness, the MIB curve with CPR and CMD, completeness and minimality, each with its conventions.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var circuit = new Option<string>("--circuit") { Description = "Circuit file (circuits/NAME.json).", Required = true };
        var model = new Option<string?>("--model") { Description = "Model folder or llama2.c .bin. Default: the file's model.path, else the embedded stories260K." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var delta = new Option<double>("--minimality-delta") { Description = "Minimality threshold δ.", DefaultValueFactory = _ => 0.01 };
        var randomSets = new Option<int>("--completeness-random") { Description = "Random sets K for completeness.", DefaultValueFactory = _ => 16 };
        var greedySteps = new Option<int>("--completeness-greedy") { Description = "Greedy steps for completeness.", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Seed of the completeness search.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("evaluate", "Measure a circuit file: faithfulness, curve, CPR, CMD, completeness, minimality.")
            { circuit, model, json, delta, randomSets, greedySteps, seed };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            string path = r.GetValue(circuit)!;
            var file = CircuitFile.Read(path);
            var loaded = CliSupport.LoadModel(CliSupport.ModelPathFor(r.GetValue(model), file));
            var plan = new EvaluationPlan
            {
                Completeness = new CompletenessOptions { RandomSets = r.GetValue(randomSets), GreedySteps = r.GetValue(greedySteps), Seed = r.GetValue(seed) },
                MinimalityDelta = r.GetValue(delta),
            };
            var measured = CliSupport.WithStages("evaluate", stages => CircuitPipeline.Evaluate(file, loaded, plan, stages));
            if (r.GetValue(json)) WriteJson(path, measured);
            else WriteTable(path, measured);
            // Role claims are measured too: one line each on stderr (stdout stays the table or the JSON), and a claim that does not hold is a failed check.
            foreach (var line in RoleMeasurement.Lines(measured, file)) Console.Error.WriteLine(line);
            return measured.FailingRoles().Count == 0 ? 0 : 1;
        }));
        return cmd;
    }

    private static void WriteJson(string path, CircuitFile f)
    {
        var metrics = f.ToJsonTree()["metrics"]!;
        var options = new JsonSerializerOptions { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
        CliSupport.WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteString("circuit", path);
            w.WriteString("level", f.Circuit.Level == CircuitLevel.Edge ? "edge" : "node");
            w.WriteNumber("nodes", f.Circuit.Nodes.Count);
            w.WriteNumber("edges", f.Circuit.Edges.Count);
            w.WritePropertyName("metrics");
            metrics.WriteTo(w, options);
            if (f.ToJsonTree()["roles"] is { } roles)
            {
                w.WritePropertyName("roles");
                roles.WriteTo(w, options);
            }
            w.WriteEndObject();
        });
    }

    private static void WriteTable(string path, CircuitFile f)
    {
        var table = new Table().Title($"{Markup.Escape(path)}: {f.Circuit}").AddColumns("metric", "value", "unit", "conventions");
        foreach (var (name, e) in f.Metrics)
            table.AddRow(Markup.Escape(name), CliSupport.Figure(f, name), e.Unit,
                Markup.Escape(string.Join(", ", e.Conventions.Select(kv => $"{kv.Key}={kv.Value}"))));
        CliSupport.Out.Write(table);
    }
}
