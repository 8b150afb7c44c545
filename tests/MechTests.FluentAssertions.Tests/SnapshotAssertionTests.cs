using FluentAssertions;
using MechTests.Circuits;
using Xunit;
using Xunit.Sdk;

namespace MechTests.FluentAssertions.Tests;

/// <summary>MatchVerifiedSnapshot in a temp folder with explicit settings (never the process environment).</summary>
public sealed class SnapshotAssertionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mechtests-fa-").FullName;
    private static readonly SnapshotSettings Verifying = new();
    private static readonly SnapshotSettings Accepting = new() { AcceptRequested = true };
    private static readonly SnapshotSettings AcceptingOnCi = new() { AcceptRequested = true, CiSignal = "CI" };

    public void Dispose() => Directory.Delete(_dir, true);

    private static CircuitFile Planted(IEnumerable<string> edges)
    {
        var runs = Models.InductionRuns;
        var circuit = Circuit.FromEdges(runs.Graph, edges);
        var d = new DiscoveryResult(circuit, "manual", new Dictionary<string, string>());
        return CircuitFile.Create(d, ModelIdentity.From(Models.Induction.Config, ModelIdentity.HashWeights(Models.Induction.Weights)), TaskReference.Inline(runs.Task))
            .AddMetrics(MetricEntries.From(CircuitEvaluation.Faithfulness(runs, circuit)));
    }

    [Fact]
    public void AMissingSnapshotFailsWithTheAcceptCommandAndWritesTheReceivedFile()
    {
        string path = Path.Combine(_dir, "induction");
        string m = Assert.Throws<XunitException>(() => Planted(Models.Induction.CircuitEdges).Should().MatchVerifiedSnapshot(path, Verifying)).Message;
        m.Should().Contain("to match its verified snapshot").And.Contain(Verifying.AcceptCommand);
        File.Exists(path + ".received.json").Should().BeTrue();
        File.Exists(path + ".verified.json").Should().BeFalse();
    }

    [Fact]
    public void AcceptingWritesTheSnapshotThenItMatchesAndAChangedEdgeSetFailsListingTheEdge()
    {
        string path = Path.Combine(_dir, "induction");
        Planted(Models.Induction.CircuitEdges).Should().MatchVerifiedSnapshot(path, Accepting).Which.Status.Should().Be(SnapshotStatus.Created);
        Planted(Models.Induction.CircuitEdges).Should().MatchVerifiedSnapshot(path, Verifying).Which.Status.Should().Be(SnapshotStatus.Matched);
        var smaller = Models.Induction.CircuitEdges.Where(e => e != "a1.h2->logits").Append("a1.h1->logits");
        string m = Assert.Throws<XunitException>(() => Planted(smaller).Should().MatchVerifiedSnapshot(path, Verifying)).Message;
        m.Should().Contain("+ a1.h1->logits").And.Contain("- a1.h2->logits");
    }

    [Fact]
    public void AcceptingIsRefusedOnCi()
    {
        string path = Path.Combine(_dir, "induction");
        Assert.Throws<XunitException>(() => Planted(Models.Induction.CircuitEdges).Should().MatchVerifiedSnapshot(path, AcceptingOnCi));
        File.Exists(path + ".verified.json").Should().BeFalse();
    }

    [Fact]
    public void WithoutAPathTheSnapshotNextToTheFileItWasReadFromIsUsed()
    {
        string json = Path.Combine(_dir, "claim.json");
        Planted(Models.Induction.CircuitEdges).Write(json);
        var claim = CircuitFile.Read(json);
        claim.Should().MatchVerifiedSnapshot(Accepting).Which.VerifiedPath.Should().Be(Path.Combine(_dir, "claim.verified.json"));
        claim.Should().MatchVerifiedSnapshot(Verifying).Which.Status.Should().Be(SnapshotStatus.Matched);
        string m = Assert.Throws<XunitException>(() => Planted(Models.Induction.CircuitEdges).Should().MatchVerifiedSnapshot(Verifying)).Message;
        m.Should().Contain("it was not read from a file");
    }
}
