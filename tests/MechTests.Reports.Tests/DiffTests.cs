using System.Net;
using System.Text.RegularExpressions;
using MechTests.Circuits;
using Xunit;

namespace MechTests.Reports.Tests;

/// <summary>The diff view marks exactly the edges that differ, and failing snapshots write it next to the received file.</summary>
public sealed class DiffTests
{
    internal const string Removed = "m3->a4.h2<v>", Added = "a1.h4->logits", Rescored = "a2.h6->logits";

    /// <summary>name-copy with one edge removed, one added (a real graph edge between member nodes) and one score moved.</summary>
    internal static CircuitFile Changed(CircuitFile a, string? source = null)
    {
        string json = a.ToJson()
            .Replace("      {\"name\": \"m3->a4.h2<v>\", \"score\": 0.134877},\n", "")
            .Replace("\"score\": 2.30052", "\"score\": 2.1")
            .Replace("      {\"name\": \"m4->logits\", \"score\": 2.12488}", "      {\"name\": \"m4->logits\", \"score\": 2.12488},\n      {\"name\": \"a1.h4->logits\", \"score\": 0.5}");
        Assert.NotEqual(a.ToJson(), json);
        return CircuitFile.Parse(json, source ?? "changed.json");
    }

    internal static Dictionary<string, string> States(string html)
        => Regex.Matches(html, "<g data-edge=\"([^\"]*)\"[^>]*data-diff=\"([a-z]+)\"")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => m.Groups[2].Value);

    [Fact]
    public void OverlayMarksRemovedAddedAndRescoredEdgesAndNothingElse()
    {
        var a = CircuitFile.Read(Repo.NameCopy);
        string html = new CircuitDiffReport(a, Changed(a)).ToHtml();
        var states = States(html);
        Assert.Equal(57, states.Count); // 56 edges of A plus the one only in B
        Assert.Equal("removed", states[Removed]);
        Assert.Equal("added", states[Added]);
        Assert.Equal("changed", states[Rescored]);
        Assert.Equal(54, states.Values.Count(s => s == "same"));
        Assert.Contains("3 differences beyond tolerance", html);
        Assert.Contains("1 only in A, 1 only in B, 1 changed score, 54 unchanged", html);
    }

    [Fact]
    public void IdenticalFilesShowNoDifference()
    {
        var a = CircuitFile.Read(Repo.NameCopy);
        string html = new CircuitDiffReport(a, CircuitFile.Read(Repo.NameCopy)).ToHtml();
        Assert.All(States(html).Values, s => Assert.Equal("same", s));
        Assert.Contains("equivalent within tolerance", html);
    }

    [Fact]
    public void SnapshotMismatchWritesTheDiffNextToTheReceivedFileAndNamesIt()
    {
        using var tmp = new TempFolder();
        string circuit = tmp.CopyNameCopy();
        string snapshot = Path.ChangeExtension(circuit, null);
        var verifier = new SnapshotVerifier(new SnapshotSettings { ReportWriter = SnapshotReportWriter.Instance });
        string report = snapshot + ".received.html";

        // Passing never writes a report.
        verifier.Verify(CircuitFile.Read(circuit), snapshot);
        Assert.False(File.Exists(report));

        var e = Assert.Throws<SnapshotMismatchException>(() => verifier.Verify(Changed(CircuitFile.Read(circuit)), snapshot));
        Assert.Equal(report, e.ReportPath);
        Assert.Contains($"Report: {report}\n", e.Message);
        var states = States(File.ReadAllText(report));
        // verified = A, received = B.
        Assert.Equal("removed", states[Removed]);
        Assert.Equal("added", states[Added]);
        Assert.Equal("changed", states[Rescored]);

        // The next passing run removes the failure's files.
        verifier.Verify(CircuitFile.Read(circuit), snapshot);
        Assert.False(File.Exists(report));
        Assert.False(File.Exists(snapshot + ".received.json"));
    }

    [Fact]
    public void WithoutAWriterNoReportIsWrittenOrNamed()
    {
        using var tmp = new TempFolder();
        string circuit = tmp.CopyNameCopy();
        string snapshot = Path.ChangeExtension(circuit, null);
        var e = Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(new SnapshotSettings()).Verify(Changed(CircuitFile.Read(circuit)), snapshot));
        Assert.Null(e.ReportPath);
        Assert.DoesNotContain("Report:", e.Message);
        Assert.False(File.Exists(snapshot + ".received.html"));
    }
}
