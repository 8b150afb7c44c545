using System.CommandLine;
using MechTests.Attribution;
using MechTests.Patching;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests agreement --task TASK.json --method atp-star [--level node|edge] [--top-k 10] --json</c>: an attribution
/// against exhaustive activation patching (Spearman, top-k recall, relative cost of verified recall).
/// </summary>
internal static class AgreementCommand
{
    public static Command Create()
    {
        var o = new TaskOptions();
        var method = new Option<string>("--method") { Description = "atp, atp-star, eap or eap-ig.", DefaultValueFactory = _ => "atp-star" };
        var topK = new Option<int>("--top-k") { Description = "k for top-k recall and the verified-recall cost.", DefaultValueFactory = _ => 10 };
        CliSupport.AtLeast(topK, 1);
        var cmd = new Command("agreement", "Compare an attribution method with exhaustive activation patching.") { method, topK };
        o.AddTo(cmd);
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var m = AttributionResult.ParseMethod(r.GetValue(method)!);
            var (_, _, runs) = o.Load(r);
            AttributionResult attribution;
            PatchingResult truth;
            if (o.GetLevel(r) == "edge")
            {
                attribution = m switch
                {
                    AttributionMethod.EapIg => EdgeAttribution.EapIg(runs),
                    AttributionMethod.AtPStar => EdgeAttribution.AtPStar(runs),
                    _ => EdgeAttribution.Eap(runs),
                };
                truth = CliSupport.WithProgress("patching edges", runs.Graph.Edges.Count * runs.Batches.Count, p => EdgePatching.RunEach(runs, progress: p));
            }
            else
            {
                var nodes = o.Nodes(r, runs);
                attribution = m == AttributionMethod.AtPStar ? NodeAttribution.AtPStar(runs, nodes) : NodeAttribution.AtP(runs, nodes);
                truth = CliSupport.WithProgress("patching nodes", nodes.Count * runs.Batches.Count, p => NodePatching.Run(runs, nodes, p));
            }
            var report = AgreementReport.Compute(attribution.Scores, truth.Effects, r.GetValue(topK));
            CliSupport.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("method", attribution.MethodName);
                w.WriteString("aggregation", attribution.AggregationName);
                w.WriteString("level", attribution.Level);
                w.WriteString("ground_truth", truth.Conventions);
                w.WriteString("conventions", report.Conventions);
                w.WriteNumber("count", report.Count);
                w.WriteNumber("top_k", report.TopK);
                w.WriteNumber("spearman", Math.Round(report.Spearman, 4));
                w.WriteNumber("top_k_recall", Math.Round(report.TopKRecall, 4));
                w.WriteNumber("verification_cost", report.VerificationCost);
                w.WriteNumber("relative_cost", Math.Round(report.RelativeCost, 3));
                w.WriteStartArray("missed_top_k");
                foreach (var n in report.MissedTopK) w.WriteStringValue(n);
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return 0;
        }));
        return cmd;
    }
}
