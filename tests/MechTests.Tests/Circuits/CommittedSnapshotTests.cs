using System.Runtime.CompilerServices;
using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>
/// The workflow end to end on a committed snapshot: exact edge patching on the tiny model → greedy 12-edge circuit →
/// faithfulness, MIB curves, completeness and minimality → Snapshots/tiny-gpt2-patching-greedy12.verified.json. A change in the engine, patching,
/// discovery or evaluation that moves this circuit fails here with the semantic diff.
/// </summary>
[Collection("Environment")] // reads MECHTESTS_ACCEPT / CI, which other tests in the collection change
public class CommittedSnapshotTests
{
    private static readonly string[] Known = ["tiny-gpt2-patching-greedy12"];

    [Fact]
    public void TheTinyPatchingCircuitIsStable()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var scores = CircuitFixtures.Gpt2EdgeEffects;
        var d = CircuitDiscovery.Greedy(runs.Graph, scores, 12);
        var (cpr, cmd) = CircuitEvaluation.MibCurves(runs, scores);
        var file = CircuitFile.Create(d, CircuitFixtures.Identity(runs), TaskReference.Inline(runs.Task),
                new Dictionary<string, string> { ["scores"] = "edge-patching/signed_mean" })
            .AddMetrics(MetricEntries.From(CircuitEvaluation.Faithfulness(runs, d.Circuit)))
            .AddMetrics(MetricEntries.Cpr(cpr), MetricEntries.Cmd(cmd))
            .AddMetrics(MetricEntries.From(CircuitEvaluation.Completeness(runs, d.Circuit, new CompletenessOptions { RandomSets = 4, GreedySteps = 2, Seed = 1 })))
            .AddMetrics(MetricEntries.From(CircuitEvaluation.Minimality(runs, d.Circuit, 0.01)));
        new SnapshotVerifier().VerifyNextToSource(file, "Snapshots/" + Known[0]);
    }

    [Fact]
    public void NoCommittedSnapshotIsOrphaned()
    {
        var orphans = SnapshotVerifier.FindOrphans(Path.Combine(Folder(), "Snapshots"), Known);
        Assert.True(orphans.Count == 0, "Verified snapshots that no test produces (delete them or add their test):\n" + string.Join("\n", orphans));
    }

    private static string Folder([CallerFilePath] string here = "") => Path.GetDirectoryName(here)!;
}
