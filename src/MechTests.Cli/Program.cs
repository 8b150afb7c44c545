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
            TrainCommand.Create(),
        };
        // Every command that runs a model takes --backend/--device (bench: its engine figures); diff does not, nor train (the managed engine's weight gradients).
        foreach (var c in root.Subcommands.Where(c => c.Name is not ("diff" or "train"))) BackendOptions.AddTo(c);
        var parsed = root.Parse(args);
        // Usage errors exit 2 like every other input error (System.CommandLine's default 1 means "a check failed").
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
            Console.Error.WriteLine($"usage: {string.Join(' ', CommandPath(parsed.CommandResult))} --help");
            return CliSupport.UsageError;
        }
        int code = CliSupport.Run(() => { BackendOptions.Apply(parsed); return 0; });
        if (code != 0) return code;
        return parsed.Invoke();
    }

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new Stack<string>();
        for (var r = result; r != null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(r.Parent == null ? "mechtests" : r.Command.Name);
        return names;
    }
}
