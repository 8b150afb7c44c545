using MechTests.Circuits;
using Xunit;

namespace MechTests.Reports.Tests;

/// <summary>
/// The name-copy report (from the file alone, so no floating-point work is involved) is byte-for-byte the checked-in
/// page: the bytes depend only on the circuit file and the task file. A change to the renderer shows up as a diff
/// of Snapshots/name-copy.report.html; <c>MECHTESTS_ACCEPT=1</c> rewrites it (not on CI).
/// </summary>
public sealed class ReportSnapshotTests
{
    [Fact]
    public void NameCopyReportMatchesTheCheckedInPage()
    {
        string expectedPath = Path.Combine(Repo.ProjectDir, "Snapshots", "name-copy.report.html");
        string receivedPath = Path.Combine(Repo.ProjectDir, "Snapshots", "name-copy.report.received.html");
        string html = ReportContentTests.FileOnly().ToHtml();
        var settings = SnapshotSettings.FromEnvironment();
        if (settings.Accepting || !File.Exists(expectedPath))
        {
            if (!settings.Accepting) { AtomicFile.WriteAllText(receivedPath, html); Assert.Fail($"No snapshot yet; review {receivedPath} and rerun with MECHTESTS_ACCEPT=1."); }
            AtomicFile.WriteAllText(expectedPath, html);
        }
        string expected = File.ReadAllText(expectedPath);
        if (expected != html)
        {
            AtomicFile.WriteAllText(receivedPath, html);
            int at = Enumerable.Range(0, Math.Min(expected.Length, html.Length)).FirstOrDefault(i => expected[i] != html[i], Math.Min(expected.Length, html.Length));
            Assert.Fail($"The report differs from {expectedPath} at character {at} (received: {receivedPath}); if the change is intended, rerun with MECHTESTS_ACCEPT=1.");
        }
        if (File.Exists(receivedPath)) File.Delete(receivedPath);
    }
}
