using System.Globalization;
using MechTests.Circuits;
using MechTests.Xunit.Tests.Samples;
using Xunit;

namespace MechTests.Xunit.Tests;

/// <summary>
/// CircuitVerification re-derives a claim and writes its figures to the test output, pass or fail. Reference values
/// are facts of the circuits, not of the code: the empty circuit's faithfulness is 0 and it has no component to be
/// minimal about; the full graph's faithfulness is 1 and nothing can be missing from it (completeness 0); CPR and CMD
/// depend only on the scores, which both files rank the same way.
/// </summary>
public class VerificationTests
{
    private static readonly SnapshotVerifier Accepting = new(new SnapshotSettings { AcceptRequested = true });
    private static readonly SnapshotVerifier Checking = new(new SnapshotSettings());

    private static double Figure(IReadOnlyList<string> lines, string metric)
    {
        string line = Assert.Single(lines, l => l.StartsWith(metric + " = ", StringComparison.Ordinal));
        string value = line[(metric.Length + 3)..line.IndexOf(' ', metric.Length + 3)];
        return double.Parse(value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public void TheFiguresOfTheEmptyAndTheFullCircuitAreWrittenWhenTheyPass()
    {
        using var dir = new TempFolder();
        var empty = CircuitCase.ForFile(dir.Write("empty.json", Stories.EmptyJson));
        var full = CircuitCase.ForFile(dir.Write("full.json", Stories.FullJson));
        var emptyOut = new RecordingOutput();
        var fullOut = new RecordingOutput();

        var created = empty.Verify(emptyOut, Accepting);
        full.Verify(fullOut, Accepting);
        var again = new RecordingOutput();
        var matched = empty.Verify(again, Checking);

        Assert.Equal(SnapshotStatus.Created, created.Snapshot.Status);
        Assert.Equal(SnapshotStatus.Matched, matched.Snapshot.Status);
        Assert.Equal(Path.Combine(dir.Path, "empty.verified.json"), matched.Snapshot.VerifiedPath);
        Assert.Equal($"empty: 1 node, 0 edges; top-n (n=0, ranking=absolute, scores=eap/signed_mean); llama 5×8, d_model 64; task name-copy (logit_diff)", emptyOut.Lines[0]);
        Assert.StartsWith($"full: ", fullOut.Lines[0]);
        Assert.Contains($", {Stories.EdgeCount} edges;", fullOut.Lines[0]);

        Assert.Equal(0, Figure(emptyOut.Lines, "faithfulness"), 6);
        Assert.Equal(1, Figure(fullOut.Lines, "faithfulness"), 6);
        Assert.Equal(0, Figure(fullOut.Lines, "completeness"), 6);
        Assert.Contains("minimality = 0 (count; components with drop < δ=0.01; of 0; claimed 0)", emptyOut.Lines);
        Assert.Contains("completeness: not measured", emptyOut.Lines);
        Assert.Contains("minimality: not measured", fullOut.Lines);
        Assert.Equal(Figure(emptyOut.Lines, "cpr"), Figure(fullOut.Lines, "cpr"));
        Assert.Equal(Figure(emptyOut.Lines, "cmd"), Figure(fullOut.Lines, "cmd"));
        // Each figure is next to the claimed one, and both come from the measured file.
        Assert.Contains(emptyOut.Lines, l => l.StartsWith("faithfulness = ", StringComparison.Ordinal) && l.Contains("claimed", StringComparison.Ordinal));
        Assert.Equal(matched.Figure("cpr")!.Value, Figure(again.Lines, "cpr"), 5);
        Assert.Equal($"snapshot: matched {matched.Snapshot.VerifiedPath}", again.Lines[^1]);
    }

    [Fact]
    public void TheFiguresAreWrittenBeforeASnapshotFailure()
    {
        using var dir = new TempFolder();
        var empty = CircuitCase.ForFile(dir.Write("empty.json", Stories.EmptyJson));
        var output = new RecordingOutput();

        var e = Assert.Throws<SnapshotMismatchException>(() => empty.Verify(output, Checking));

        Assert.Equal(SnapshotFailure.Missing, e.Failure);
        Assert.Equal(0, Figure(output.Lines, "faithfulness"), 6);
        Assert.StartsWith("snapshot: missing ", output.Lines[^1]);
    }

    [Fact]
    public void UnderXunitTheFiguresReachThePassingTestsOutput()
    {
        using var dir = new TempFolder();
        dir.Write("empty.json", Stories.EmptyJson);
        // Re-deriving the claim on its own model gives the claim back, so the claim is its own verified snapshot.
        dir.Write("empty.verified.json", Stories.EmptyJson);
        using var env = new EnvironmentScope().Set(VerifySample.Folder, dir.Path);

        var result = Assert.Single(InProcessRunner.Run(typeof(VerifySample)));

        Assert.Equal("passed", result.Outcome);
        Assert.Equal(0, Figure(result.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToList(), "faithfulness"), 6);
        Assert.Contains($"snapshot: matched {Path.Combine(dir.Path, "empty.verified.json")}", result.Output);
    }
}
