using System.CommandLine;
using MechTests.Patching;
using MechTests.Semantics;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests dla --task T.json [--granularity component|neuron] --json</c> →
/// <c>{"metric":"logit_diff","convention":...,"metric_clean":x,"scores":{"input":..,"a2.h6":..,"m4":..},"constants":{..},"total":x}</c>.
/// </summary>
internal static class DlaCommand
{
    public static Command Create()
    {
        var o = new SemanticsOptions();
        var granularity = new Option<string>("--granularity") { Description = "component (input, pos_embed, heads, MLPs) or neuron (m{l}.n{i} in place of m{l}).", DefaultValueFactory = _ => "component" };
        var cmd = new Command("dla", "Direct logit attribution of every component's write to the clean logit difference (final norm scale frozen from the clean run).");
        o.AddTo(cmd);
        cmd.Add(granularity);
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var g = NodeSets.ParseGranularity(r.GetValue(granularity) ?? "component");
            var (m, runs) = o.Load(r);
            using var _ = runs;
            var dla = DirectLogitAttribution.Run(runs, m.Weights, g);
            CliSupport.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("metric", dla.Metric);
                w.WriteString("granularity", dla.Granularity);
                w.WriteString("convention", dla.Conventions);
                w.WriteNumber("metric_clean", dla.MetricClean);
                w.WriteStartObject("scores");
                foreach (var (name, v) in dla.Scores) w.WriteNumber(name, v);
                w.WriteEndObject();
                w.WriteStartObject("constants");
                foreach (var (name, v) in dla.Constants) w.WriteNumber(name, v);
                w.WriteEndObject();
                w.WriteNumber("total", dla.Total);
                w.WriteEndObject();
            });
            return 0;
        }));
        return cmd;
    }
}
