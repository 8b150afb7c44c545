using MechTests.Circuits;

namespace MechTests.Reports;

/// <summary>
/// Writes <c>X.received.html</c> next to <c>X.received.json</c> when a snapshot fails: the diff view
/// (<see cref="CircuitDiffReport"/>, verified = A, received = B) on a mismatch, the received circuit's own report
/// when there is no readable verified file. Git-ignored like every <c>*.received.*</c>; a passing or accepting run
/// removes it with the received file — it is an artefact of a failure, never written on success.
/// </summary>
/// <example><code>
/// var verifier = new SnapshotVerifier(SnapshotSettings.FromEnvironment() with { ReportWriter = SnapshotReportWriter.Instance });
/// </code></example>
public sealed class SnapshotReportWriter : ISnapshotReportWriter
{
    /// <summary>The writer.</summary>
    public static SnapshotReportWriter Instance { get; } = new();

    /// <summary><c>X.received.html</c> for <c>X.received.json</c>.</summary>
    /// <example><code>
    /// SnapshotReportWriter.ReportPathOf("circuits/name-copy.received.json");   // circuits/name-copy.received.html
    /// </code></example>
    public static string ReportPathOf(string receivedPath) => Path.ChangeExtension(receivedPath, ".html");

    /// <inheritdoc />
    public string? Write(CircuitFile? verified, CircuitFile received, CircuitDiffResult? diff, string receivedPath)
    {
        string path = Path.GetFullPath(ReportPathOf(receivedPath));
        if (verified != null) new CircuitDiffReport(verified, received, diff) { BeforeLabel = "verified", AfterLabel = "received" }.Write(path);
        else new CircuitReport(received) { Pairs = PromptPairText.FromTaskFile(received), Title = Path.GetFileName(receivedPath) }.Write(path);
        return path;
    }
}
