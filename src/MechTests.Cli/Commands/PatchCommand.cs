using System.CommandLine;
using MechTests.Patching;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests patch --model PATH --task TASK.json --level node|edge --json</c> →
/// <c>{"metric_clean":x,"metric_corrupted":y,"effects":{"a0.h0":v,...}}</c>.
/// </summary>
internal static class PatchCommand
{
    public static Command Create()
    {
        var o = new TaskOptions();
        var cmd = new Command("patch", "Activation patching (ground truth): effect = metric(clean with x ← corrupted) − metric(clean).");
        o.AddTo(cmd);
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var (_, _, runs) = o.Load(r);
            PatchingResult result;
            if (o.GetLevel(r) == "edge")
                result = CliSupport.WithProgress("patching edges", runs.Graph.Edges.Count * runs.Batches.Count, p => EdgePatching.RunEach(runs, progress: p));
            else
            {
                var nodes = o.Nodes(r, runs);
                result = CliSupport.WithProgress("patching nodes", nodes.Count * runs.Batches.Count, p => NodePatching.Run(runs, nodes, p));
            }
            CliSupport.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("level", result.Level);
                w.WriteString("metric", result.Metric);
                w.WriteString("conventions", result.Conventions);
                w.WriteNumber("metric_clean", result.MetricClean);
                w.WriteNumber("metric_corrupted", result.MetricCorrupted);
                w.WriteStartObject("effects");
                foreach (var name in result.Names) w.WriteNumber(name, result.Effects[name]);
                w.WriteEndObject();
                w.WriteEndObject();
            });
            return 0;
        }));
        return cmd;
    }
}
