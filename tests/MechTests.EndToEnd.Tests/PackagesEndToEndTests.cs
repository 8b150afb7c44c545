using System.IO.Compression;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.EndToEnd.Tests;

/// <summary>
/// The packages as a user meets them, in one consumer project set up as the README says (steps share it, so one test,
/// in order): what the packages hold; every C# snippet of README.md and the package READMEs compiles and passes as
/// written, the embedded model's circuit and a second model's beside it verify, and a false claim fails with its
/// figures (TRX, non-zero exit: CI gating); the same on xUnit v3 in a second project beside it (MechTests.Xunit.V3: its
/// README's snippets, a false claim as a failure with attachments, a missing model as a skip); a malformed circuit
/// fails the build at file(line,col); a changed snapshot
/// is refused on CI and accepted locally with -p:MechTestsAccept=true into the source tree, never bin/; the CLI
/// installs as a local tool with the README's lines and runs the command lines the READMEs show.
/// </summary>
/// <remarks>
/// Not run here: `dotnet pack` as written (the test packs each project with --no-build into the same folder, with
/// a test version, so a stale 0.1.0 in a NuGet cache cannot be picked up) and `dotnet add package` (the project
/// file references the same packages; each add would restore again).
/// </remarks>
public class PackagesEndToEndTests(ITestOutputHelper output)
{
    // Seconds since the previous step, so the log shows where the end-to-end test's minutes go.
    private readonly System.Diagnostics.Stopwatch _lap = System.Diagnostics.Stopwatch.StartNew();

    private void Log(string step, (int ExitCode, string Output) r)
    {
        output.WriteLine($"== {step}: exit {r.ExitCode} ({_lap.Elapsed.TotalSeconds:F1} s)\n{(r.Output.Length > 4000 ? r.Output[^4000..] : r.Output)}");
        _lap.Restart();
    }

    /// <summary>The FluentAssertions assembly the consumer's build copied next to its tests.</summary>
    private static string? FluentAssertionsVersionIn(Consumer consumer)
        => System.Diagnostics.FileVersionInfo.GetVersionInfo(Directory.GetFiles(Path.Combine(consumer.Project, "bin"), "FluentAssertions.dll", SearchOption.AllDirectories).Single()).FileVersion;

    [Fact]
    public void ConsumerProjectBuildsTestsGatesAndAcceptsWithThePackedPackages()
    {
        using var consumer = new Consumer();
        Log("dotnet pack", (0, ""));

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
        Assert.Contains("buildTransitive/MechTests.Xunit.V3.targets", entries["MechTests.Xunit.V3"]);
        Assert.Contains("buildTransitive/MechTests.Xunit.V3.ModelFixture.cs", entries["MechTests.Xunit.V3"]);
        Assert.Contains("lib/net10.0/MechTests.Xunit.V3.dll", entries["MechTests.Xunit.V3"]);
        using (var zip = ZipFile.OpenRead(Path.Combine(consumer.Feed, $"MechTests.Xunit.V3.{Consumer.Version}.nupkg")))
        using (var nuspec = new StreamReader(zip.GetEntry("MechTests.Xunit.V3.nuspec")!.Open()))
        {
            // Compiled against the oldest supported xUnit v3 extensibility API: consumers on 3.2.x and 4.x both restore.
            string text = nuspec.ReadToEnd();
            Assert.Contains("id=\"xunit.v3.extensibility.core\" version=\"3.2.2\"", text);
            Assert.DoesNotContain("id=\"xunit.extensibility", text);
        }

        // 1. The READMEs' snippets compile and pass as written: their claims hold, one [CircuitFiles] row per circuit
        // of either model; a false claim fails with its measured value; TRX and exit code gate CI.
        string trx = Path.Combine(consumer.Root, "run1.trx");
        var run = consumer.Run(null, "test", "--logger", $"trx;LogFileName={trx}", "-p:MechTestsStrict=true");
        Log("dotnet test", run);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Equal($"{Consumer.LatestFluentAssertions}.0", FluentAssertionsVersionIn(consumer));
        var results = Consumer.ReadTrx(trx);
        var snippets = results.Where(r => r.Key.StartsWith("Snippets.", StringComparison.Ordinal)).ToList();
        Assert.All(snippets, r => Assert.True(r.Value.Outcome == "Passed", $"{r.Key}: {r.Value.Outcome}\n{r.Value.Message}"));
        Assert.Equal(["Snippets.MechTestsFluentAssertionsStatements.Run", "Snippets.MechTestsStatements.Run"], consumer.StatementTests.Order(StringComparer.Ordinal));
        foreach (var name in consumer.StatementTests.Concat([
                     "Snippets.Root0.Claims.Holds(circuit: name-copy)", "Snippets.Root0.Claims.Holds(circuit: gpt2/tiny)", "Snippets.Root0.Claims.NameCopyIsFaithful",
                     "Snippets.MechTestsXunit0.CircuitClaims.HoldsOnGpt2(circuit: tiny)", "Snippets.MechTestsXunit1.PronounTests.Gpt2IsAGpt2"]))
            Assert.True(results.ContainsKey(name), $"{name} did not run; ran: {string.Join(", ", results.Keys)}");
        Assert.Equal("Failed", results["ClaimTests.NameCopyIsPerfect"].Outcome);
        Assert.Contains("to be faithful, f(C) ≥ 0.99", results["ClaimTests.NameCopyIsPerfect"].Message);
        Assert.Contains("but f(C) = 0.9137", results["ClaimTests.NameCopyIsPerfect"].Message);

        // 1b. The same claims on the oldest FluentAssertions the package accepts (it is compiled against 6.12, run above
        // on 7.x): every snippet compiles against it, and the tests that use FluentAssertions run (the [CircuitFiles]
        // rows and the xUnit-only snippets do not touch it and ran above).
        string trx612 = Path.Combine(consumer.Root, "run1-fa612.trx");
        run = consumer.Run(null, "test", "--logger", $"trx;LogFileName={trx612}", "-p:MechTestsStrict=true", $"-p:ConsumerFluentAssertions={Consumer.OldestFluentAssertions}",
            "--filter", "FullyQualifiedName~FluentAssertions|FullyQualifiedName~NameCopyIs");
        Log($"dotnet test on FluentAssertions {Consumer.OldestFluentAssertions}", run);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Equal($"{Consumer.OldestFluentAssertions}.0", FluentAssertionsVersionIn(consumer));
        results = Consumer.ReadTrx(trx612);
        Assert.Equal(["ClaimTests.NameCopyIsPerfect", "Snippets.MechTestsFluentAssertionsStatements.Run", "Snippets.Root0.Claims.NameCopyIsFaithful"],
            results.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("Passed", results["Snippets.MechTestsFluentAssertionsStatements.Run"].Outcome);
        Assert.Equal("Passed", results["Snippets.Root0.Claims.NameCopyIsFaithful"].Outcome);
        Assert.Equal("Failed", results["ClaimTests.NameCopyIsPerfect"].Outcome);
        Assert.Contains("but f(C) = 0.9137", results["ClaimTests.NameCopyIsPerfect"].Message);

        // 1c. The same claims on xUnit v3: a project beside it that references MechTests.Xunit.V3 instead (and xunit.v3);
        // the v3 README's snippets pass as written (the model fixture comes as an assembly fixture), a false claim
        // fails with its differences and figures, a missing model skips (v3's dynamic skip), and the exit code gates.
        consumer.WriteXunitV3Project();
        string trxV3 = Path.Combine(consumer.Root, "run1-v3.trx");
        run = consumer.RunV3(null, "test", "--logger", $"trx;LogFileName={trxV3}");
        Log("dotnet test (xUnit v3 consumer)", run);
        Assert.NotEqual(0, run.ExitCode);
        results = Consumer.ReadTrx(trxV3);
        foreach (var name in new[] { "Snippets.MechTestsXunitV30.CircuitClaims.Holds(circuit: name-copy)", "Snippets.MechTestsXunitV30.CircuitClaims.HoldsOnGpt2(circuit: tiny)",
                     "Snippets.MechTestsXunitV31.WithoutTheAttributes.NameCopyHolds", "Snippets.MechTestsXunitV32.PronounTests.TheEmbeddedModelHasFiveLayers",
                     "Snippets.MechTestsXunitV32.PronounTests.Gpt2IsAGpt2" })
            Assert.True(results.TryGetValue(name, out var r) && r.Outcome == "Passed", $"{name}: {(r.Outcome ?? "did not run")}\n{r.Message}\nran: {string.Join(", ", results.Keys)}");
        Assert.Equal(["ClaimTests.Holds(circuit: gpt2/tiny)", "ClaimTests.NeedsAMissingModel"], results.Keys.Where(k => k.StartsWith("ClaimTests.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var falseClaim = results["ClaimTests.Holds(circuit: gpt2/tiny)"];
        Assert.Equal("Failed", falseClaim.Outcome);
        Assert.Contains("Circuit snapshot mismatch for 'tiny'", falseClaim.Message);
        Assert.Contains(Path.Combine(consumer.ProjectV3, "false-claims", "gpt2", "tiny.verified.json"), falseClaim.Message);
        // The figures of the passing and of the failing rows reach the log (gpt2 2×2 is the small GPT-2's header).
        string trxText = File.ReadAllText(trxV3);
        Assert.Contains("faithfulness = 0.91374 (normalized; claimed 0.91374)", trxText);
        Assert.Contains("tiny: ", run.Output);
        Assert.Contains("gpt2 2×2, d_model 8", run.Output);
        // The received file and its report, attached to the failing test, are TRX result files.
        Assert.Matches(@"<ResultFile path=""[^""]*tiny\.received\.html", trxText);
        Assert.Matches(@"<ResultFile path=""[^""]*tiny\.received\.json", trxText);
        var skipped = results["ClaimTests.NeedsAMissingModel"];
        Assert.Equal("NotExecuted", skipped.Outcome);
        Assert.Contains("model not found: ", trxText);

        // 2. A malformed circuit file fails the build, located.
        string broken = Path.Combine(consumer.Circuits, "broken.json");
        File.WriteAllText(broken, File.ReadAllText(Path.Combine(consumer.Circuits, "name-copy.json")).Replace("\"input->m0\"", "\"input->m9\""));
        run = consumer.Run(null, "build");
        Log("dotnet build (malformed)", run);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Matches(@"circuits[/\\]broken\.json\(\d+,16\): error MECH0104: circuit\.edges\[\d+\]\.name: edge 'input->m9' does not exist", run.Output);
        File.Delete(broken);

        // 3. A changed snapshot: refused on CI (warning MECH0002, test fails, file untouched), accepted locally. On the
        // second model's circuit (circuits/gpt2/tiny: a subfolder, its model named by model.path): re-deriving it takes
        // a fraction of a second where name-copy's takes seconds, twice.
        string verified = Path.Combine(consumer.Circuits, "gpt2", "tiny.verified.json");
        byte[] original = File.ReadAllBytes(verified);
        var lines = File.ReadAllLines(verified).ToList();
        int firstEdge = lines.FindIndex(l => l.Contains("\"edges\": [")) + 1;
        lines.RemoveAt(firstEdge + 1);
        File.WriteAllLines(verified, lines);
        byte[] changed = File.ReadAllBytes(verified);
        // Only that row of the README's [CircuitFiles] theory: the other rows and snippets verify other files.
        string[] holds = ["test", "--filter", "FullyQualifiedName~Snippets.Root0.Claims.Holds&DisplayName~gpt2/tiny", "-p:MechTestsAccept=true"];
        run = consumer.Run(new Dictionary<string, string> { ["CI"] = "true" }, holds);
        Log("dotnet test -p:MechTestsAccept=true with CI=true", run);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("warning MECH0002", run.Output);
        Assert.Matches(@"Failed:\s+1, Passed:\s+0, Skipped:\s+0, Total:\s+1", run.Output);
        Assert.Equal(changed, File.ReadAllBytes(verified));
        run = consumer.Run(null, holds);
        Log("dotnet test -p:MechTestsAccept=true", run);
        Assert.Equal(0, run.ExitCode);
        Assert.Matches(@"Failed:\s+0, Passed:\s+1, Skipped:\s+0, Total:\s+1", run.Output);
        // Built without the property again: back on the latest FluentAssertions after the run on the oldest.
        Assert.Equal($"{Consumer.LatestFluentAssertions}.0", FluentAssertionsVersionIn(consumer));
        // Accepted: the snapshot is the re-derived circuit again — the removed edge is back (last digits may differ).
        string before = Path.Combine(consumer.Root, "original.verified.json");
        File.WriteAllBytes(before, original);
        var diff = MechTests.Circuits.CircuitDiff.Compare(MechTests.Circuits.CircuitFile.Read(before), MechTests.Circuits.CircuitFile.Read(verified));
        Assert.True(diff.AreEquivalent, diff.Render());
        Assert.NotEqual(changed, File.ReadAllBytes(verified));
        // Into the source tree: byte-identical to the circuit file again, the received file gone, nothing under bin/ or obj/.
        Assert.Equal(File.ReadAllBytes(Path.Combine(consumer.Circuits, "gpt2", "tiny.json")), File.ReadAllBytes(verified));
        Assert.False(File.Exists(Path.Combine(consumer.Circuits, "gpt2", "tiny.received.json")));
        foreach (var build in new[] { "bin", "obj" })
            Assert.Empty(Directory.GetFiles(Path.Combine(consumer.Project, build), "*.verified.json", SearchOption.AllDirectories));

        // 4. The CLI as a local tool, installed with README.md's lines; then every command line the READMEs show.
        foreach (var line in ReadmeSnippets.CommandLines(Consumer.Readme, "dotnet new tool-manifest")
                     .Concat(ReadmeSnippets.CommandLines(Consumer.Readme, "dotnet tool install"))
                     .Concat(ReadmeSnippets.CommandLines(Consumer.Readme, "dotnet tool restore")))
        {
            run = consumer.RunDocumented(line);
            Log(line, run);
            Assert.True(run.ExitCode == 0, $"{line}: exit {run.ExitCode}\n{run.Output}");
        }
        string circuitBytes = File.ReadAllText(Path.Combine(consumer.Circuits, "name-copy.json"));
        var cliLines = ReadmeSnippets.CommandLines(Consumer.Readme, "dotnet tool run mechtests")
            .Concat(ReadmeSnippets.CommandLines(File.ReadAllText(Path.Combine(Consumer.RepoRoot, "src", "MechTests.Cli", "README.md")), "dotnet tool run mechtests"))
            .Distinct().ToList();
        Assert.Contains("dotnet tool run mechtests verify", cliLines);
        Assert.Contains(cliLines, l => l.StartsWith("dotnet tool run mechtests discover", StringComparison.Ordinal));
        // The restored tool's own entry point: `dotnet tool run` did not always find a tool restored into the test's
        // private NUGET_PACKAGES folder (it passed in one run, said "run dotnet tool restore" in the next), so the
        // documented arguments run against the installed package directly.
        string cli = Path.Combine(consumer.Root, "packages", "mechtests.cli", Consumer.Version, "tools", "net10.0", "any", "MechTests.Cli.dll");
        Assert.True(File.Exists(cli), $"the restored tool is not at {cli}");
        foreach (var line in cliLines)
        {
            run = consumer.Run(null, [cli, .. line["dotnet tool run mechtests ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
            Log(line, run);
            Assert.True(run.ExitCode == 0, $"{line}: exit {run.ExitCode}\n{run.Output}");
            if (line == "dotnet tool run mechtests verify")
            {
                // Each file on its own model: the embedded one's and the random GPT-2's beside it.
                Assert.Contains("2 of 2 circuits verified", run.Output);
                Assert.Matches(@"│ tiny\s+│ matched", run.Output);
            }
        }
        // The documented discover line rewrote the checked-in circuit: the same bytes (docs/circuit-format.md).
        Assert.Equal(circuitBytes, File.ReadAllText(Path.Combine(consumer.Circuits, "name-copy.json")));
        Assert.True(File.Exists(Path.Combine(consumer.Project, "name-copy.html")));
    }
}
