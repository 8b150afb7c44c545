using System.CommandLine;

namespace MechTests.Cli.Commands;

/// <summary><c>mechtests bench --json</c>: GEMM throughput and engine timings on GPT-2-small shapes.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON (the only output format)." };
        var cmd = new Command("bench", "Measure GEMM GFLOP/s and GPT-2-small-shaped forward / forward+backward times.") { json };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            Console.Error.WriteLine("bench: not yet available");
            return 1;
        }));
        return cmd;
    }
}
