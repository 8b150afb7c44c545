using System.Diagnostics;
using MechTests.Circuits;

namespace MechTests.Tests.Cli;

/// <summary>Runs the real `mechtests` executable (MechTests.Cli.dll next to the tests) as a separate process.</summary>
internal static class CliRunner
{
    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => RunWith(null, args);

    /// <summary>
    /// Runs with CI signals and MECHTESTS_* snapshot variables removed from the child's environment (so it behaves the
    /// same on a developer machine and on CI), then <paramref name="env"/> applied on top.
    /// </summary>
    public static (int ExitCode, string Stdout, string Stderr) RunClean(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var all = SnapshotSettings.BuildServerVariables.Append("CI").Append(SnapshotSettings.AcceptVariable).Append(SnapshotSettings.AcceptOnCiVariable)
            .ToDictionary(v => v, v => (string?)null);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) all[k] = v;
        return RunWith(all, args);
    }

    private static (int ExitCode, string Stdout, string Stderr) RunWith(IReadOnlyDictionary<string, string?>? env, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestPaths.RepoRoot,
        };
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
            if (v == null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MechTests.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000))
        {
            p.Kill(true);
            throw new TimeoutException($"mechtests {string.Join(' ', args)} did not finish in 600 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
