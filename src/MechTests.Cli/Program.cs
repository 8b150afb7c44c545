using System.CommandLine;
using MechTests.Cli.Commands;

namespace MechTests.Cli;

/// <summary>The <c>mechtests</c> command line: thin wrappers over the library; results on stdout, progress on stderr.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("MechTests: run, measure and verify mechanisms of transformer language models.")
        {
            GenerateCommand.Create(),
            LogitsCommand.Create(),
            BenchCommand.Create(),
            PatchCommand.Create(),
            AttributeCommand.Create(),
            AgreementCommand.Create(),
            DiscoverCommand.Create(),
            EvaluateCommand.Create(),
            VerifyCommand.Create(),
            DiffCommand.Create(),
            ReportCommand.Create(),
            LogitLensCommand.Create(),
            DlaCommand.Create(),
            AttentionCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
