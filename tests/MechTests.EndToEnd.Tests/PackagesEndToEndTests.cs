using System.IO.Compression;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.EndToEnd.Tests;

/// <summary>
/// The packages as a user meets them, in one consumer project (steps share it, so one test, in order): what the
/// packages hold; a true claim passes and a false one fails with its figures (TRX, non-zero exit: CI gating); a
/// malformed circuit fails the build at file(line,col); a changed snapshot is refused on CI and accepted locally with
/// -p:MechTestsAccept=true; the CLI installs as a dotnet tool and verifies the same folder.
/// </summary>
public class PackagesEndToEndTests(ITestOutputHelper output)
{
    private static void Log(ITestOutputHelper output, string step, (int ExitCode, string Output) r)
        => output.WriteLine($"== {step}: exit {r.ExitCode}\n{(r.Output.Length > 4000 ? r.Output[^4000..] : r.Output)}");

    /// <summary>The FluentAssertions assembly the consumer's build copied next to its tests.</summary>
    private static string? FluentAssertionsVersionIn(Consumer consumer)
        => System.Diagnostics.FileVersionInfo.GetVersionInfo(Directory.GetFiles(Path.Combine(consumer.Project, "bin"), "FluentAssertions.dll", SearchOption.AllDirectories).Single()).FileVersion;

    [Fact]
    public void ConsumerProjectBuildsTestsGatesAndAcceptsWithThePackedPackages()
    {
        using var consumer = new Consumer();

        // What was packed.
        var entries = Consumer.Packages.ToDictionary(id => id, id =>
        {
            using var zip = ZipFile.OpenRead(Path.Combine(consumer.Feed, $"{id}.{Consumer.Version}.nupkg"));
            return zip.Entries.Select(e => e.FullName).ToList();
        });
        Assert.Contains("models/stories260K/stories260K.bin", entries["MechTests"]);
        Assert.Contains("buildTransitive/MechTests.targets", entries["MechTests"]);
        Assert.Contains("lib/net10.0/MechTests.xml", entries["MechTests"]);
        Assert.Contains("build/MechTests.props", entries["MechTests.MSBuild"]);
        Assert.Contains("buildTransitive/MechTests.MSBuild.targets", entries["MechTests.MSBuild"]);
        Assert.Contains("tasks/net10.0/MechTests.MSBuild.dll", entries["MechTests.MSBuild"]);
        Assert.Contains("tasks/net10.0/MechTests.dll", entries["MechTests.MSBuild"]);
        Assert.Contains(entries["MechTests.Cli"], e => e.StartsWith("tools/net10.0/any/", StringComparison.Ordinal) && e.EndsWith("stories260K.bin", StringComparison.Ordinal));
        Assert.All(entries.Values, files => Assert.Contains("README.md", files));

        // 1. A true claim passes, a false one fails with its measured value; TRX and exit code gate CI.
        string trx = Path.Combine(consumer.Root, "run1.trx");
        var run = consumer.Run(null, "test", "--logger", $"trx;LogFileName={trx}", "-p:MechTestsStrict=true");
        Log(output, "dotnet test", run);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Equal($"{Consumer.LatestFluentAssertions}.0", FluentAssertionsVersionIn(consumer));
        var results = Consumer.ReadTrx(trx);
        Assert.Equal("Passed", results["ClaimTests.Holds(circuit: name-copy)"].Outcome);
        Assert.Equal("Passed", results["ClaimTests.NameCopyIsFaithful"].Outcome);
        Assert.Equal("Failed", results["ClaimTests.NameCopyIsPerfect"].Outcome);
        Assert.Contains("to be faithful, f(C) ≥ 0.99", results["ClaimTests.NameCopyIsPerfect"].Message);
        Assert.Contains("but f(C) = 0.9137", results["ClaimTests.NameCopyIsPerfect"].Message);

        // 1b. The same claims on the oldest FluentAssertions the package accepts (it is compiled against 6.12, run above on 7.x).
        string trx612 = Path.Combine(consumer.Root, "run1-fa612.trx");
        run = consumer.Run(null, "test", "--logger", $"trx;LogFileName={trx612}", "-p:MechTestsStrict=true", $"-p:ConsumerFluentAssertions={Consumer.OldestFluentAssertions}");
        Log(output, $"dotnet test on FluentAssertions {Consumer.OldestFluentAssertions}", run);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Equal($"{Consumer.OldestFluentAssertions}.0", FluentAssertionsVersionIn(consumer));
        results = Consumer.ReadTrx(trx612);
        Assert.Equal("Passed", results["ClaimTests.NameCopyIsFaithful"].Outcome);
        Assert.Equal("Failed", results["ClaimTests.NameCopyIsPerfect"].Outcome);
        Assert.Contains("but f(C) = 0.9137", results["ClaimTests.NameCopyIsPerfect"].Message);
        run = consumer.Run(null, "build", $"-p:ConsumerFluentAssertions={Consumer.LatestFluentAssertions}");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal($"{Consumer.LatestFluentAssertions}.0", FluentAssertionsVersionIn(consumer));

        // 2. A malformed circuit file fails the build, located.
        string broken = Path.Combine(consumer.Circuits, "broken.json");
        File.WriteAllText(broken, File.ReadAllText(Path.Combine(consumer.Circuits, "name-copy.json")).Replace("\"input->m0\"", "\"input->m9\""));
        run = consumer.Run(null, "build");
        Log(output, "dotnet build (malformed)", run);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Matches(@"circuits[/\\]broken\.json\(\d+,16\): error MECH0104: circuit\.edges\[\d+\]\.name: edge 'input->m9' does not exist", run.Output);
        File.Delete(broken);

        // 3. A changed snapshot: refused on CI (warning MECH0002, test fails, file untouched), accepted locally.
        string verified = Path.Combine(consumer.Circuits, "name-copy.verified.json");
        byte[] original = File.ReadAllBytes(verified);
        var lines = File.ReadAllLines(verified).ToList();
        int firstEdge = lines.FindIndex(l => l.Contains("\"edges\": [")) + 1;
        lines.RemoveAt(firstEdge + 1);
        File.WriteAllLines(verified, lines);
        byte[] changed = File.ReadAllBytes(verified);
        string[] holds = ["test", "--filter", "FullyQualifiedName~Holds", "-p:MechTestsAccept=true"];
        run = consumer.Run(new Dictionary<string, string> { ["CI"] = "true" }, holds);
        Log(output, "dotnet test -p:MechTestsAccept=true with CI=true", run);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("warning MECH0002", run.Output);
        Assert.Equal(changed, File.ReadAllBytes(verified));
        run = consumer.Run(null, holds);
        Log(output, "dotnet test -p:MechTestsAccept=true", run);
        Assert.Equal(0, run.ExitCode);
        // Accepted: the snapshot is the re-derived circuit again — the removed edge is back (last digits may differ).
        string before = Path.Combine(consumer.Root, "original.verified.json");
        File.WriteAllBytes(before, original);
        var diff = MechTests.Circuits.CircuitDiff.Compare(MechTests.Circuits.CircuitFile.Read(before), MechTests.Circuits.CircuitFile.Read(verified));
        Assert.True(diff.AreEquivalent, diff.Render());
        Assert.NotEqual(changed, File.ReadAllBytes(verified));

        // 4. The CLI as a dotnet tool verifies the same folder against the embedded model.
        string tools = Path.Combine(consumer.Root, "tools");
        run = consumer.Run(null, "tool", "install", "MechTests.Cli", "--version", Consumer.Version, "--tool-path", tools);
        Log(output, "dotnet tool install", run);
        Assert.Equal(0, run.ExitCode);
        var verify = consumer.Run(null, Path.Combine(tools, ".store", "mechtests.cli", Consumer.Version, "mechtests.cli", Consumer.Version, "tools", "net10.0", "any", "MechTests.Cli.dll"), "verify", "circuits");
        Log(output, "mechtests verify", verify);
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("1 of 1 circuits verified", verify.Output);
    }
}
