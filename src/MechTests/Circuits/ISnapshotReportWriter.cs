namespace MechTests.Circuits;

/// <summary>
/// Writes a picture of a failed snapshot next to its <c>X.received.json</c> (e.g. <c>X.received.html</c>: both
/// circuits overlaid) and returns its path, which the failure message then names. The seam through which the
/// report layer (<c>MechTests.Reports.SnapshotReportWriter</c>, above this one) is plugged in by the xUnit and
/// FluentAssertions packages and <c>mechtests verify</c>; <see cref="SnapshotVerifier"/> calls it only on failure.
/// </summary>
/// <example><code>
/// var verifier = new SnapshotVerifier(SnapshotSettings.FromEnvironment() with { ReportWriter = SnapshotReportWriter.Instance });
/// </code></example>
public interface ISnapshotReportWriter
{
    /// <summary>Writes the report for a failed verification; returns its full path, or null when none was written.</summary>
    /// <param name="verified">The verified snapshot, or null when it is missing or unreadable.</param>
    /// <param name="received">The circuit that was verified, as written to <paramref name="receivedPath"/>.</param>
    /// <param name="diff">The differences (null when there is no verified snapshot to compare with).</param>
    /// <param name="receivedPath">Full path of the <c>X.received.json</c> just written.</param>
    /// <example><code>
    /// string? html = writer.Write(verified, received, diff, "/repo/circuits/name-copy.received.json");
    /// </code></example>
    string? Write(CircuitFile? verified, CircuitFile received, CircuitDiffResult? diff, string receivedPath);
}
