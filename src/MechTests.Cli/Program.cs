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
        };
        // Every command that runs a model takes --backend/--device; diff and bench (managed GEMM figures) do not.
        foreach (var c in root.Subcommands.Where(c => c.Name is not ("diff" or "bench"))) BackendOptions.AddTo(c);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count == 0)
        {
            int code = CliSupport.Run(() => { BackendOptions.Apply(parsed); return 0; });
            if (code != 0) return code;
        }
        return parsed.Invoke();
    }
}
