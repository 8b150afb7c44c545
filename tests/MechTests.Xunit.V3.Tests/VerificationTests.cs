using System.Globalization;
using MechTests.Circuits;
using MechTests.Xunit.V3.Tests.Samples;
using Xunit;
using Xunit.Sdk;

namespace MechTests.Xunit.V3.Tests;

/// <summary>
/// A claim verified under xUnit v3: the figures reach the test's output whether it passes or fails, and a false claim
/// is an assertion failure with the received file and its report attached. Reference values are facts of the circuits:
/// the empty circuit's faithfulness is 0; re-deriving a claim on its own model gives the claim back, so the claim is
/// its own verified snapshot, and the full circuit (every edge) is not the empty one's snapshot.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public class VerificationTests
{
    private static double Figure(string output, string metric)
    {
        string line = Assert.Single(output.Split('\n').Select(l => l.TrimEnd('\r')), l => l.StartsWith(metric + " = ", StringComparison.Ordinal));
        string value = line[(metric.Length + 3)..line.IndexOf(' ', metric.Length + 3)];
        return double.Parse(value, CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData(typeof(VerifySample))]        // circuit.Verify(output), output from the constructor
    [InlineData(typeof(ContextOutputSample))] // circuit.Verify(), output from TestContext
    public void ATrueClaimPassesWithItsFiguresInTheTestOutput(Type sample)
    {
        using var dir = new TempFolder();
        dir.Write("empty.json", Stories.EmptyJson);
        dir.Write("empty.verified.json", Stories.EmptyJson);
        using var env = new EnvironmentScope().Set(VerifySample.Folder, dir.Path).Set(BuildFacts.StrictVariable, null).Set(ModelLocator.ModelVariable, null);

        var result = Assert.Single(InProcessRunner.Run(sample));

        Assert.Equal("passed", result.Outcome);
        Assert.EndsWith("(circuit: empty)", result.DisplayName);
        Assert.StartsWith("empty: 1 node, 0 edges; top-n (n=0, ranking=absolute, scores=eap/signed_mean); llama 5×8, d_model 64; task name-copy (logit_diff)", result.Output);
        Assert.Equal(0, Figure(result.Output, "faithfulness"), 6);
        Assert.Contains("minimality = 0 (count; components with drop < δ=0.01; of 0; claimed 0)", result.Output);
        Assert.Contains($"snapshot: matched {Path.Combine(dir.Path, "empty.verified.json")}", result.Output);
    }

    [Fact]
    public void AFalseClaimIsAnAssertionFailureWithItsFiguresAndTheReceivedFileAttached()
    {
        using var dir = new TempFolder();
        dir.Write("empty.json", Stories.EmptyJson);
        dir.Write("empty.verified.json", Stories.FullJson);   // claims every edge; the empty circuit re-derives to none
        using var env = new EnvironmentScope().Set(VerifySample.Folder, dir.Path).Set(BuildFacts.StrictVariable, null).Set(ModelLocator.ModelVariable, null);

        var result = Assert.Single(InProcessRunner.Run(typeof(VerifySample)));

        Assert.Equal("failed", result.Outcome);
        Assert.Equal(typeof(SnapshotMismatchException).FullName, result.ExceptionType);
        Assert.Equal(FailureCause.Assertion, result.Cause);
        Assert.Contains(Path.Combine(dir.Path, "empty.verified.json"), result.Message);
        Assert.Equal(0, Figure(result.Output, "faithfulness"), 6);
        Assert.Contains($"snapshot: mismatch {Path.Combine(dir.Path, "empty.verified.json")}", result.Output);
        // The received file, attached as text, is the re-derived circuit: the empty one again.
        var attachments = Assert.IsAssignableFrom<IReadOnlyDictionary<string, TestAttachment>>(result.Attachments);
        string received = File.ReadAllText(Path.Combine(dir.Path, "empty.received.json"));
        Assert.Equal(received, attachments["empty.received.json"].AsString());
        Assert.Empty(CircuitFile.Parse(received, "empty.received.json").Circuit.Edges);
        var report = attachments["empty.received.html"];
        Assert.Equal("text/html", report.AsByteArray().MediaType);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.Path, "empty.received.html")), report.AsByteArray().ByteArray);
    }

    [Fact]
    public void VerifyOutsideTheAttributesReturnsTheMeasuredFiguresAndWritesThemToTheGivenOutput()
    {
        using var dir = new TempFolder();
        var empty = CircuitCase.ForFile(dir.Write("empty.json", Stories.EmptyJson));
        dir.Write("empty.verified.json", Stories.EmptyJson);
        var output = new RecordingOutput();

        var result = empty.Verify(output);

        Assert.Equal(SnapshotStatus.Matched, result.Snapshot.Status);
        Assert.Equal(0, result.Figure("faithfulness")!.Value, 6);
        Assert.Null(result.Figure("completeness"));   // the empty circuit's file does not measure it
        Assert.Equal(result.Figure("cpr")!.Value, Figure(output.Output, "cpr"), 5);
        Assert.Contains("completeness: not measured", output.Lines);
        Assert.Equal($"snapshot: matched {Path.Combine(dir.Path, "empty.verified.json")}", output.Lines[^1]);
    }
}
