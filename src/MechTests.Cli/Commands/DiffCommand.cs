using System.CommandLine;
using MechTests.Circuits;

namespace MechTests.Cli.Commands;

/// <summary><c>mechtests diff A.json B.json</c>: the semantic difference of two circuit files (exit 0 when equivalent, 1 otherwise).</summary>
internal static class DiffCommand
{
    public static Command Create()
    {
        var before = new Argument<string>("before") { Description = "The earlier circuit file (e.g. NAME.verified.json)." };
        var after = new Argument<string>("after") { Description = "The later circuit file (e.g. NAME.received.json)." };
        var cmd = new Command("diff", "Semantic difference of two circuit files, within the first file's tolerances.") { before, after };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var diff = CircuitDiff.Compare(CircuitFile.Read(r.GetValue(before)!), CircuitFile.Read(r.GetValue(after)!));
            Console.WriteLine(diff.AreEquivalent ? "equivalent within tolerance" : diff.Render());
            return diff.AreEquivalent ? 0 : 1;
        }));
        return cmd;
    }
}
