using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

[Collection("Environment")]
public class SnapshotTests
{
    private static readonly SnapshotSettings Local = new();
    private static readonly SnapshotSettings Accept = new() { AcceptRequested = true };

    /// <summary>A small scored circuit file on the tiny model (no model runs needed beyond the cached fixture).</summary>
    private static CircuitFile File(Func<string, double, double>? rescore = null, IEnumerable<string>? drop = null, double faithfulness = 0.75)
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var scores = CircuitFixtures.Gpt2EdgeEffects.ToDictionary(kv => kv.Key, kv => rescore?.Invoke(kv.Key, kv.Value) ?? kv.Value);
        var d = CircuitDiscovery.TopN(runs.Graph, CircuitFixtures.Gpt2EdgeEffects, 25);
        var circuit = Circuit.FromEdges(runs.Graph, d.Circuit.Edges.Where(e => drop?.Contains(e.Name) != true), scores);
        var conventions = EvaluationConventions.For(runs.Task, CircuitLevel.Edge, "complement").ToDictionary();
        return CircuitFile.Create(d with { Circuit = circuit }, CircuitFixtures.Identity(runs), TaskReference.Inline(runs.Task))
            .AddMetrics(new KeyValuePair<string, MetricEntry>("faithfulness", new MetricEntry(faithfulness, MetricUnits.Normalized, conventions)));
    }

    private static string Text(string path) => System.IO.File.ReadAllText(path);

    [Fact]
    public void AMatchingCircuitPassesAndLeavesTheVerifiedFileAlone()
    {
        using var tmp = CircuitFixtures.Temp();
        string path = tmp.File("c");
        Assert.Equal(SnapshotStatus.Created, new SnapshotVerifier(Accept).Verify(File(), path).Status);
        byte[] before = System.IO.File.ReadAllBytes(tmp.File("c.verified.json"));
        // Noise far below tolerance (1e-9 relative on every score, 1e-7 on faithfulness) still matches.
        var noisy = File((_, s) => s * (1 + 1e-9), faithfulness: 0.75 + 1e-7);
        var result = new SnapshotVerifier(Local).Verify(noisy, tmp.File("c.verified.json"));
        Assert.Equal(SnapshotStatus.Matched, result.Status);
        Assert.Equal(before, System.IO.File.ReadAllBytes(tmp.File("c.verified.json")));
        Assert.False(System.IO.File.Exists(tmp.File("c.received.json")));
    }

    [Fact]
    public void AMismatchWritesTheReceivedFileAndListsTheEdgeDiffAndTheAcceptCommand()
    {
        using var tmp = CircuitFixtures.Temp();
        var verified = File();
        new SnapshotVerifier(Accept).Verify(verified, tmp.File("ioi"));
        string verifiedText = Text(tmp.File("ioi.verified.json"));
        var bySize = verified.Circuit.Edges.Select(e => e.Name).OrderByDescending(n => Math.Abs(verified.Circuit.Scores[n])).ToList();
        string big = bySize[0], small = bySize[^1], changed = bySize[1];
        var received = File((n, s) => n == changed ? s * 1.5 : s, drop: [small, big], faithfulness: 0.70);

        var e = Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(Local).Verify(received, tmp.File("ioi")));
        Assert.Equal(SnapshotFailure.Mismatch, e.Failure);
        Assert.Equal(received.ToJson(), Text(tmp.File("ioi.received.json")));
        Assert.Equal(verifiedText, Text(tmp.File("ioi.verified.json")));
        string m = e.Message;
        Assert.StartsWith("Circuit snapshot mismatch for 'ioi': 4 differences beyond tolerance", m);
        Assert.Contains("Edges removed, largest |score| first (2):", m);
        int iBig = m.IndexOf($"  - {big}  score ", StringComparison.Ordinal), iSmall = m.IndexOf($"  - {small}  score ", StringComparison.Ordinal);
        Assert.True(iBig > 0 && iSmall > iBig, m);
        Assert.Contains($"  ~ {changed}  ", m);
        Assert.Contains("  ~ metrics.faithfulness.value  0.75 -> 0.7  (Δ -0.05", m);
        Assert.Contains($"Verified: {tmp.File("ioi.verified.json")}\n", m);
        Assert.Contains($"Received: {tmp.File("ioi.received.json")}\n", m);
        Assert.EndsWith("To accept the received file, run: MECHTESTS_ACCEPT=1 dotnet test", m);
        Assert.Equal(2, e.Diff!.RemovedEdges.Count);
        Assert.Equal([changed], e.Diff.ScoreChanges.Select(c => c.Name));

        // Once the circuit is back, the stale received file is cleaned up.
        new SnapshotVerifier(Local).Verify(verified, tmp.File("ioi"));
        Assert.False(System.IO.File.Exists(tmp.File("ioi.received.json")));
    }

    [Fact]
    public void AcceptModeReplacesTheVerifiedFileWithTheReceivedOne()
    {
        using var tmp = CircuitFixtures.Temp();
        new SnapshotVerifier(Accept).Verify(File(), tmp.File("c"));
        var changed = File(faithfulness: 0.5);
        System.IO.File.WriteAllText(tmp.File("c.received.json"), "stale");
        var r = new SnapshotVerifier(Accept).Verify(changed, tmp.File("c"));
        Assert.Equal(SnapshotStatus.Updated, r.Status);
        Assert.Single(r.Diff!.MetricChanges);
        Assert.Equal(changed.ToJson(), Text(tmp.File("c.verified.json")));
        Assert.False(System.IO.File.Exists(tmp.File("c.received.json")));
    }

    [Fact]
    public void TolerancesHandTunedInTheVerifiedFileDecideAndSurviveAccepting()
    {
        using var tmp = CircuitFixtures.Temp();
        new SnapshotVerifier(Accept).Verify(File(), tmp.File("c"));
        string path = tmp.File("c.verified.json");
        System.IO.File.WriteAllText(path, Text(path).Replace("\"faithfulness\": 0.001", "\"faithfulness\": 0.1"));
        // 0.75 → 0.70 is within the loosened tolerance: it matches, and the file is not touched.
        Assert.Equal(SnapshotStatus.Matched, new SnapshotVerifier(Local).Verify(File(faithfulness: 0.70), tmp.File("c")).Status);
        // 0.75 → 0.5 is not; accepting it keeps the hand-tuned tolerance.
        Assert.Equal(SnapshotStatus.Updated, new SnapshotVerifier(Accept).Verify(File(faithfulness: 0.5), tmp.File("c")).Status);
        Assert.Equal(0.1, CircuitFile.Read(path).Tolerances.Faithfulness);
        Assert.Equal(0.5, CircuitFile.Read(path).Metrics["faithfulness"].Value);
    }

    [Fact]
    public void AMissingVerifiedFileFailsUnlessAccepting()
    {
        using var tmp = CircuitFixtures.Temp();
        var e = Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(Local).Verify(File(), tmp.File("new")));
        Assert.Equal(SnapshotFailure.Missing, e.Failure);
        Assert.Contains("No verified snapshot yet: new.verified.json does not exist.", e.Message);
        Assert.Contains(" (missing)\n", e.Message);
        Assert.True(System.IO.File.Exists(tmp.File("new.received.json")));
        Assert.False(System.IO.File.Exists(tmp.File("new.verified.json")));
        Assert.Equal(SnapshotStatus.Created, new SnapshotVerifier(Accept).Verify(File(), tmp.File("new")).Status);
    }

    [Fact]
    public void AnUnreadableVerifiedFileFailsWithItsParseError()
    {
        using var tmp = CircuitFixtures.Temp();
        System.IO.File.WriteAllText(tmp.File("bad.verified.json"), "{\n  \"schemaVersion\": 1,\n  \"model\": 3\n}\n");
        var e = Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(Local).Verify(File(), tmp.File("bad")));
        Assert.Equal(SnapshotFailure.Unreadable, e.Failure);
        Assert.Contains($"{tmp.File("bad.verified.json")}(3,12): model: expected an object", e.Message);
    }

    [Fact]
    public void CiRefusesToAcceptUnlessForced()
    {
        using var tmp = CircuitFixtures.Temp();
        new SnapshotVerifier(Accept).Verify(File(), tmp.File("c"));
        string committed = Text(tmp.File("c.verified.json"));
        var changed = File(faithfulness: 0.5);
        foreach (var (variable, value) in new[] { ("CI", "true"), ("GITHUB_ACTIONS", "true"), ("TF_BUILD", "True"), ("JENKINS_URL", "http://ci/") })
        {
            using (new EnvironmentScope((SnapshotSettings.AcceptVariable, "1"), (variable, value)))
            {
                var verifier = new SnapshotVerifier();
                Assert.Equal(variable, verifier.Settings.CiSignal);
                Assert.False(verifier.Settings.Accepting);
                var e = Assert.Throws<SnapshotMismatchException>(() => verifier.Verify(changed, tmp.File("c")));
                Assert.Contains($"Not accepted: MECHTESTS_ACCEPT=1 was requested, but this is a CI run (detected via {variable})", e.Message);
                // The accept command is for the user's machine; CI would refuse it.
                Assert.EndsWith("To accept, run 'MECHTESTS_ACCEPT=1 dotnet test' on your own machine and commit the verified file (or set MECHTESTS_ACCEPT_ON_CI=1 on CI to force it).", e.Message);
                Assert.Equal(committed, Text(tmp.File("c.verified.json")));
            }
        }
        using (new EnvironmentScope((SnapshotSettings.AcceptVariable, "1"), ("CI", "true"), (SnapshotSettings.AcceptOnCiVariable, "1")))
            Assert.Equal(SnapshotStatus.Updated, new SnapshotVerifier().Verify(changed, tmp.File("c")).Status);
        Assert.Equal(changed.ToJson(), Text(tmp.File("c.verified.json")));
    }

    [Fact]
    public void TheRefusalNamesHowAcceptingWasRequested()
    {
        using var tmp = CircuitFixtures.Temp();
        new SnapshotVerifier(Accept).Verify(File(), tmp.File("c"));
        var changed = File(faithfulness: 0.5);
        Func<string, string?> ci = name => name == "CI" ? "true" : null;
        // dotnet test -p:MechTestsAccept=true on CI: the build fact, not an environment variable the user never set.
        var byBuild = new BuildFacts(tmp.Path, null, Accept: true, AcceptOnCi: false, Strict: false).SnapshotSettings(ci);
        Assert.Equal("-p:MechTestsAccept=true", byBuild.AcceptRequestedBy);
        var e = Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(byBuild).Verify(changed, tmp.File("c")));
        Assert.Contains("Not accepted: -p:MechTestsAccept=true was requested, but this is a CI run (detected via CI)", e.Message);
        Assert.Contains("To accept, run 'dotnet test -p:MechTestsAccept=true' on your own machine", e.Message);
        Assert.DoesNotContain("MECHTESTS_ACCEPT=", e.Message);
        // On CI without a request: no refusal, only where to accept.
        var plain = new BuildFacts(tmp.Path, null, Accept: false, AcceptOnCi: false, Strict: false).SnapshotSettings(ci);
        e = Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(plain).Verify(changed, tmp.File("c")));
        Assert.DoesNotContain("Not accepted", e.Message);
        Assert.EndsWith("To accept, run 'dotnet test -p:MechTestsAccept=true' on your own machine and commit the verified file (or set MECHTESTS_ACCEPT_ON_CI=1 on CI to force it).", e.Message);
        // Locally the plain command.
        var local = new BuildFacts(tmp.Path, null, Accept: false, AcceptOnCi: false, Strict: false).SnapshotSettings(_ => null);
        e = Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(local).Verify(changed, tmp.File("c")));
        Assert.EndsWith("To accept the received file, run: dotnet test -p:MechTestsAccept=true", e.Message);
    }

    [Fact]
    public void AcceptingLocallyNeedsTheVariableAndTheScopeRestoresIt()
    {
        string? before = Environment.GetEnvironmentVariable(SnapshotSettings.AcceptVariable);
        using (new EnvironmentScope())
            Assert.False(new SnapshotVerifier().Settings.Accepting);
        using (new EnvironmentScope((SnapshotSettings.AcceptVariable, "1")))
        {
            var s = SnapshotSettings.FromEnvironment();
            Assert.True(s.Accepting);
            Assert.False(s.OnCi);
        }
        using (new EnvironmentScope((SnapshotSettings.AcceptVariable, "1"), ("CI", "false")))
            Assert.True(SnapshotSettings.FromEnvironment().Accepting);
        Assert.Equal(before, Environment.GetEnvironmentVariable(SnapshotSettings.AcceptVariable));
    }

    [Fact]
    public void AnInterruptedWriteLeavesTheOldFileIntact()
    {
        using var tmp = CircuitFixtures.Temp();
        string path = tmp.File("c.verified.json");
        System.IO.File.WriteAllText(path, "old content\n");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("{\n  \"circuit\": {\n"u8);
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal("disk full (simulated)", e.Message);
        Assert.Equal("old content\n", Text(path));
        Assert.Equal([path], Directory.GetFiles(tmp.Path)); // no temp file left behind
        AtomicFile.WriteAllText(path, "new content\n");
        Assert.Equal("new content\n", Text(path));
        Assert.Equal([path], Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void OrphansAreVerifiedFilesThatNoKnownTestProduces()
    {
        using var tmp = CircuitFixtures.Temp();
        Directory.CreateDirectory(tmp.File("sub"));
        foreach (var f in new[] { "a.verified.json", "b.verified.json", "sub/c.verified.json", "d.received.json", "e.json" })
            System.IO.File.WriteAllText(tmp.File(f), "{}");
        Assert.Equal([tmp.File("b.verified.json")], SnapshotVerifier.FindOrphans(tmp.Path, ["a", "sub/c.verified.json"]));
        Assert.Equal([tmp.File("a.verified.json"), tmp.File("b.verified.json"), tmp.File("sub/c.verified.json")], SnapshotVerifier.FindOrphans(tmp.Path, []));
        Assert.Empty(SnapshotVerifier.FindOrphans(tmp.File("nope"), []));
    }

    [Fact]
    public void ADiffToolIsLaunchedLocallyButNeverOnCi()
    {
        using var tmp = CircuitFixtures.Temp();
        new SnapshotVerifier(Accept).Verify(File(), tmp.File("c"));
        var launcher = new RecordingLauncher();
        Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(Local with { DiffLauncher = launcher }).Verify(File(faithfulness: 0.1), tmp.File("c")));
        Assert.Equal([(tmp.File("c.received.json"), tmp.File("c.verified.json"))], launcher.Calls);
        Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(Local with { DiffLauncher = launcher, CiSignal = "CI" }).Verify(File(faithfulness: 0.1), tmp.File("c")));
        Assert.Single(launcher.Calls);
    }

    private sealed class RecordingLauncher : IDiffLauncher
    {
        public List<(string, string)> Calls { get; } = new();
        public void Launch(string receivedPath, string verifiedPath) => Calls.Add((receivedPath, verifiedPath));
    }
}
