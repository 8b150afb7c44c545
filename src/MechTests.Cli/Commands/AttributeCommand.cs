using System.CommandLine;
using MechTests.Attribution;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests attribute --model PATH --task TASK.json --method atp|atp-star|eap|eap-ig --level node|edge --json</c> →
/// <c>{"method":...,"aggregation":"abs_mean"|"signed_mean","scores":{name:v,...}}</c>.
/// </summary>
internal static class AttributeCommand
{
    public static Command Create()
    {
        var o = new TaskOptions();
        var method = new Option<string>("--method") { Description = "atp, atp-star, eap or eap-ig.", Required = true };
        var aggregation = new Option<string?>("--aggregation") { Description = "signed_mean or abs_mean (default: the method's convention; AtP* is always abs_mean)." };
        var steps = new Option<int>("--steps") { Description = "EAP-IG interpolation steps m.", DefaultValueFactory = _ => 5 };
        var cmd = new Command("attribute", "Attribution scores (fast approximations of patching).") { method, aggregation, steps };
        o.AddTo(cmd);
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var m = AttributionResult.ParseMethod(r.GetValue(method)!);
            string level = o.GetLevel(r);
            Aggregation? agg = r.GetValue(aggregation) switch
            {
                null => null,
                "signed_mean" => Aggregation.SignedMean,
                "abs_mean" => Aggregation.AbsMean,
                var s => throw new ArgumentException($"--aggregation '{s}': expected signed_mean or abs_mean."),
            };
            var (_, _, runs) = o.Load(r);
            AttributionResult result;
            if (level == "node")
            {
                var nodes = o.Nodes(r, runs);
                result = m switch
                {
                    AttributionMethod.AtP => NodeAttribution.AtP(runs, nodes, agg ?? Aggregation.AbsMean),
                    AttributionMethod.AtPStar => NodeAttribution.AtPStar(runs, nodes),
                    _ => throw new ArgumentException($"--method {r.GetValue(method)} scores edges; use --level edge (or atp / atp-star for nodes)."),
                };
            }
            else
            {
                result = m switch
                {
                    AttributionMethod.Eap or AttributionMethod.AtP => EdgeAttribution.Eap(runs, agg ?? Aggregation.SignedMean),
                    AttributionMethod.EapIg => EdgeAttribution.EapIg(runs, r.GetValue(steps), agg ?? Aggregation.SignedMean),
                    _ => CliSupport.WithProgress("AtP* (GradDrop passes)", runs.Model.Config.NLayers * runs.Batches.Count, p => EdgeAttribution.AtPStar(runs, progress: p)),
                };
            }
            CliSupport.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("method", result.MethodName);
                w.WriteString("aggregation", result.AggregationName);
                w.WriteString("level", result.Level);
                w.WriteString("metric", Tasks.MetricNames.Of(runs.Task.Metric));
                w.WriteStartObject("parameters");
                foreach (var (k, v) in result.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteStartObject("scores");
                foreach (var name in result.Names) w.WriteNumber(name, result.Scores[name]);
                w.WriteEndObject();
                w.WriteEndObject();
            });
            return 0;
        }));
        return cmd;
    }
}
