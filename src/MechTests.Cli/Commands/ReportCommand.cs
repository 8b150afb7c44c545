using System.CommandLine;
using MechTests.Circuits;
using MechTests.Reports;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests report CIRCUIT.json [--model PATH] --out FILE.html</c>: the circuit's self-contained HTML report (graph,
/// faithfulness curve with CPR/CMD, AtP* against activation patching on the model, metrics, prompt pairs).
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var circuit = new Argument<string>("circuit") { Description = "Circuit file (circuits/NAME.json)." };
        var model = new Option<string?>("--model") { Description = "Model folder or llama2.c .bin for the AtP*-vs-patching comparison. Default: the embedded stories260K." };
        var output = new Option<string>("--out") { Description = "The HTML file to write.", Required = true };
        var topK = new Option<int>("--top-k") { Description = "k for top-k recall in the comparison.", DefaultValueFactory = _ => 10 };
        CliSupport.AtLeast(topK, 1);
        var cmd = new Command("report", "Write a self-contained HTML report of a circuit file.") { circuit, model, output, topK };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var file = CircuitFile.Read(r.GetValue(circuit)!);
            AtomicFile.CheckWritable(r.GetValue(output)!, "--out");
            var loaded = CliSupport.LoadModel(r.GetValue(model));
            var report = CliSupport.WithStages("report", stages =>
            {
                stages.Report("AtP* and activation patching of every node");
                return CircuitReport.Measure(file, loaded, r.GetValue(topK));
            });
            string path = r.GetValue(output)!;
            report.Write(path);
            Console.Error.WriteLine($"report: {path}");
            return 0;
        }));
        return cmd;
    }
}
