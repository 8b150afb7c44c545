using System.CommandLine;
using MechTests.Circuits;

namespace MechTests.Cli.Commands;

/// <summary><c>mechtests diff A.json B.json [--html FILE.html]</c>: the semantic difference of two circuit files (exit 0 when equivalent, 1 otherwise).</summary>
internal static class DiffCommand
{
    public static Command Create()
    {
        var before = new Argument<string>("before") { Description = "The earlier circuit file (e.g. NAME.verified.json)." };
        var after = new Argument<string>("after") { Description = "The later circuit file (e.g. NAME.received.json)." };
        var html = new Option<string?>("--html") { Description = "Also write both circuits overlaid as a self-contained HTML page." };
        var cmd = new Command("diff", "Semantic difference of two circuit files, within the first file's tolerances.") { before, after, html };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var (a, b) = (CircuitFile.Read(r.GetValue(before)!), CircuitFile.Read(r.GetValue(after)!));
            if (r.GetValue(html) is { Length: > 0 } target) AtomicFile.CheckWritable(target, "--html");
            var diff = CircuitDiff.Compare(a, b);
            if (r.GetValue(html) is { Length: > 0 } page)
            {
                new Reports.CircuitDiffReport(a, b, diff).Write(page);
                Console.Error.WriteLine($"report: {page}");
            }
            Console.WriteLine(diff.AreEquivalent ? "equivalent within tolerance" : diff.Render());
            return diff.AreEquivalent ? 0 : 1;
        }));
        return cmd;
    }
}
