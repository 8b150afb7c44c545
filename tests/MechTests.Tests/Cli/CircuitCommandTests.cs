using System.Text.Json;
using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Cli;

/// <summary>
/// discover / evaluate / verify / diff through the real executable on stories260K, with a cheap recipe (top-20 edges
/// by EAP; only the determinism test also measures curves, completeness and minimality) so the class runs in seconds.
/// </summary>
public sealed class CircuitCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mechtests-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Top-n on EAP; <paramref name="full"/> also measures curves, completeness (4 random + 1 greedy) and minimality.</summary>
    private static string[] Discover(string output, int n = 20, bool full = false) =>
    [
        "discover", "--task", Path.Combine(TestPaths.RepoRoot, "tasks", "name-copy.json"), "--method", "top-n", "--scores", "eap",
        "--n", n.ToString(), "--inline-task", "--out", output,
        .. full ? ["--completeness-random", "4", "--completeness-greedy", "1", "--seed", "3"] : new[] { "--no-curves", "--no-completeness", "--minimality-delta", "-1" },
    ];

    // Each discover is a process and a few seconds: the class makes three in all and copies them where needed.
    private static readonly Lazy<string> s_shared = new(() => DiscoverInto(Directory.CreateTempSubdirectory("mechtests-cli-shared-").FullName, "shared", 20));
    private static readonly Lazy<string> s_large = new(() => DiscoverInto(Path.GetDirectoryName(s_shared.Value)!, "large", 30));

    private static string DiscoverInto(string dir, string name, int n, bool full = false)
    {
        string path = Path.Combine(dir, name + ".json");
        var (code, _, stderr) = CliRunner.RunClean(null, Discover(path, n, full));
        Assert.True(code == 0, stderr);
        return path;
    }

    /// <summary>The shared top-20 circuit, copied into this test's folder as NAME.json.</summary>
    private string Discovered(string name)
    {
        string path = Path.Combine(_dir, name + ".json");
        File.Copy(s_shared.Value, path);
        return path;
    }

    [Fact]
    public void DiscoverIsDeterministicAndWritesEveryFigureWithItsConventions()
    {
        string a = DiscoverInto(_dir, "a", 20, full: true);
        string b = DiscoverInto(_dir, "b", 20, full: true);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));

        var file = CircuitFile.Read(a);
        Assert.Equal(CircuitLevel.Edge, file.Circuit.Level);
        Assert.InRange(file.Circuit.Edges.Count, 1, 20); // top-20, then pruned of dangling edges
        foreach (var m in new[] { "clean", "corrupted", "faithfulness", "cpr", "cmd", "completeness", "minimality" })
            Assert.True(file.Metrics.ContainsKey(m), $"metric '{m}' missing");
        Assert.Equal("corrupted-patch", file.Metrics["faithfulness"].Conventions["ablation"]);
        Assert.Equal("logit_diff", file.Metrics["faithfulness"].Conventions["metric"]);
        Assert.Equal("top-n", file.Method);
        // The text is canonical: LF only, one edge per line.
        string text = File.ReadAllText(a);
        Assert.DoesNotContain('\r', text);
        Assert.Equal(file.Circuit.Edges.Count, text.Split('\n').Count(l => l.TrimStart().StartsWith("{\"name\": \"", StringComparison.Ordinal) && l.Contains("->")));
    }

    [Fact]
    public void EvaluateJsonReportsTheSameFaithfulnessAsAnIndependentPatchedRun()
    {
        string path = Discovered("c");
        var (code, stdout, stderr) = CliRunner.RunClean(null, "evaluate", "--circuit", path, "--json");
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        double f = root.GetProperty("metrics").GetProperty("faithfulness").GetProperty("value").GetDouble();
        // Independently: one patched pass with everything outside the circuit corrupted, normalised by hand.
        var m = MechTests.Models.Loading.ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin"));
        var runs = Patching.TaskRuns.Create(new MechTests.Models.Transformer(m.Config, m.Weights),
            Tasks.MechTask.Load(Path.Combine(TestPaths.RepoRoot, "tasks", "name-copy.json"), m.Tokenizer, m.Config.VocabSize));
        var circuit = CircuitFile.Read(path).Circuit;
        var inCircuit = circuit.Edges.Select(e => e.Name).ToHashSet();
        double lc = Patching.EdgePatching.MetricWithPatchedEdges(runs, e => !inCircuit.Contains(e.Name)).Average();
        double expected = (lc - runs.CorruptedMetric) / (runs.CleanMetric - runs.CorruptedMetric);
        Assert.Equal(expected, f, 4);
    }

    [Fact]
    public void VerifyFailsWithoutASnapshotAcceptsOnlyWhenAskedAndNeverOnCi()
    {
        string path = Discovered("claim");
        string verified = Path.Combine(_dir, "claim.verified.json");
        string received = Path.Combine(_dir, "claim.received.json");

        var (code, stdout, _) = CliRunner.RunClean(null, "verify", _dir, "--json");
        Assert.Equal(1, code);
        var row = JsonDocument.Parse(stdout).RootElement.GetProperty("circuits")[0];
        Assert.Equal("missing", row.GetProperty("status").GetString());
        Assert.Contains("mechtests verify --accept", row.GetProperty("message").GetString());
        Assert.False(File.Exists(verified));
        Assert.True(File.Exists(received));

        // Asked for, but on CI: refused, and the message names what was actually given and where to accept instead.
        (code, stdout, _) = CliRunner.RunClean(new Dictionary<string, string> { ["CI"] = "true", ["MECHTESTS_ACCEPT"] = "1" }, "verify", _dir, "--json");
        Assert.Equal(1, code);
        Assert.False(File.Exists(verified));
        string refused = JsonDocument.Parse(stdout).RootElement.GetProperty("circuits")[0].GetProperty("message").GetString()!;
        Assert.Contains("Not accepted: MECHTESTS_ACCEPT=1 was requested, but this is a CI run (detected via CI)", refused);
        (code, stdout, _) = CliRunner.RunClean(new Dictionary<string, string> { ["CI"] = "true" }, "verify", _dir, "--accept", "--json");
        Assert.Equal(1, code);
        Assert.False(File.Exists(verified));
        refused = JsonDocument.Parse(stdout).RootElement.GetProperty("circuits")[0].GetProperty("message").GetString()!;
        Assert.Contains("Not accepted: --accept was requested, but this is a CI run (detected via CI)", refused);
        Assert.DoesNotContain("MECHTESTS_ACCEPT=", refused);
        Assert.Contains($"To accept, run 'mechtests verify --accept {_dir}' on your own machine and commit the verified file", refused);
        Assert.DoesNotContain("To accept the received file, run:", refused);

        (code, stdout, _) = CliRunner.RunClean(new Dictionary<string, string> { ["MECHTESTS_ACCEPT"] = "1" }, "verify", _dir, "--json");
        Assert.Equal(0, code);
        Assert.Equal("created", JsonDocument.Parse(stdout).RootElement.GetProperty("circuits")[0].GetProperty("status").GetString());
        Assert.True(File.Exists(verified));
        Assert.False(File.Exists(received));

        (code, stdout, _) = CliRunner.RunClean(null, "verify", path);
        Assert.Equal(0, code);
        Assert.Contains("matched", stdout);
        Assert.Contains("1 of 1 circuits verified", stdout);
    }

    [Fact]
    public void VerifyListsWhatChangedWhenTheSnapshotNoLongerMatches()
    {
        string path = Discovered("changed");
        var claim = CircuitFile.Read(path);
        // A snapshot that claims one edge more than the model gives: the re-derived circuit lacks it.
        var graph = Graphs.ComputeGraph.For(MechTests.Models.Loading.ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin")).Config);
        string extra = graph.Edges.Select(e => e.Name).First(e => !claim.Circuit.Edges.Any(c => c.Name == e) && e.StartsWith("input->a0.h0", StringComparison.Ordinal));
        var lines = File.ReadAllLines(path).ToList();
        int first = lines.FindIndex(l => l.Contains("\"edges\": ["));
        lines.Insert(first + 1, $"      {{\"name\": \"{extra}\", \"score\": 0.5}},");
        int nodes = lines.FindIndex(l => l.Contains("\"nodes\": ["));
        if (!claim.Circuit.Nodes.Any(n => n.Name == "a0.h0")) lines.Insert(nodes + 1, "      {\"name\": \"a0.h0\"},");
        File.WriteAllLines(Path.Combine(_dir, "changed.verified.json"), lines);

        var (code, stdout, _) = CliRunner.RunClean(null, "verify", path);
        Assert.Equal(1, code);
        Assert.Contains("mismatch", stdout);
        Assert.Contains(extra, stdout);
        Assert.Contains("0 of 1 circuits verified", stdout);
        Assert.True(File.Exists(Path.Combine(_dir, "changed.received.json")));
    }

    [Fact]
    public void DiffSaysEquivalentForTheSameCircuitAndListsAddedEdgesOtherwise()
    {
        string small = s_shared.Value;
        string large = s_large.Value;
        var (same, sameOut, _) = CliRunner.RunClean(null, "diff", small, small);
        Assert.Equal(0, same);
        Assert.Contains("equivalent", sameOut);

        var (code, stdout, _) = CliRunner.RunClean(null, "diff", small, large);
        Assert.Equal(1, code);
        var added = CircuitFile.Read(large).Circuit.Edges.Select(e => e.Name).Except(CircuitFile.Read(small).Circuit.Edges.Select(e => e.Name)).ToList();
        Assert.NotEmpty(added);
        Assert.All(added, e => Assert.Contains(e, stdout));
    }

    [Fact]
    public void DiscoverNamesABadTaskFileAndExitsNonZero()
    {
        string task = Path.Combine(_dir, "bad-task.json");
        File.WriteAllText(task, "{\"name\": \"x\", \"pairs\": []}");
        var (code, _, stderr) = CliRunner.RunClean(null, "discover", "--task", task, "--method", "top-n", "--n", "5", "--out", Path.Combine(_dir, "x.json"));
        Assert.NotEqual(0, code);
        Assert.Contains("bad-task.json", stderr);
    }
}
