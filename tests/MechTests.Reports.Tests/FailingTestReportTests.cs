using FluentAssertions;
using MechTests.Circuits;
using MechTests.FluentAssertions;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Tasks;
using MechTests.Xunit;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Reports.Tests;

/// <summary>
/// The integration packages write a report when — and only when — a test fails: MechTests.Xunit's snapshot
/// verification writes the diff view next to the received file and names it in the message and the test output;
/// a failing FluentAssertions claim about a circuit file writes the file's report measured on the failing model.
/// </summary>
public sealed class FailingTestReportTests
{
    private static readonly Lazy<LoadedModel> s_model = new(() => ModelLoader.Load(EmbeddedModels.Stories260KPath));

    private sealed class Recording : ITestOutputHelper
    {
        public List<string> Lines { get; } = [];
        public void WriteLine(string message) => Lines.Add(message);
        public void WriteLine(string format, params object[] args) => Lines.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }

    [Fact]
    public void XunitSnapshotMismatchWritesTheDiffAndNamesItInMessageAndOutput()
    {
        using var tmp = new TempFolder();
        var model = s_model.Value;
        var task = MechTask.Load(Path.Combine(Repo.Root, "tasks", "name-copy.json"), model.Tokenizer, model.Config.VocabSize);
        // A cheap claim (top-5 EAP edges, faithfulness only) whose verified snapshot has one score moved.
        var claim = CircuitPipeline.Discover(model, task, TaskReference.Inline(task), new DiscoverySpec { Method = "top-n", Scores = "eap", N = 5 }, EvaluationPlan.FaithfulnessOnly);
        var edge = claim.Circuit.Edges[0].Name;
        string json = claim.ToJson();
        string scoreText = System.Text.RegularExpressions.Regex.Match(json, "\\{\"name\": \"" + System.Text.RegularExpressions.Regex.Escape(edge) + "\", \"score\": ([^}]*)\\}").Groups[1].Value;
        Assert.NotEqual("", scoreText);
        string snapshot = Path.Combine(tmp.Path, "top5");
        File.WriteAllText(snapshot + ".verified.json", json.Replace($"\"score\": {scoreText}}}", "\"score\": 12.5}"));
        var output = new Recording();

        var e = Assert.Throws<SnapshotMismatchException>(() => CircuitVerification.Verify(claim, model, snapshot, output));

        string report = snapshot + ".received.html";
        Assert.Equal(report, e.ReportPath);
        Assert.Contains($"Report: {report}", e.Message);
        Assert.Contains($"report: {report}", output.Lines);
        Assert.Equal("changed", DiffTests.States(File.ReadAllText(report))[edge]);
    }

    [Fact]
    public void FailingClaimWritesTheCircuitReportAndAPassingOneWritesNothing()
    {
        using var tmp = new TempFolder();
        string circuit = tmp.CopyNameCopy();
        string report = Path.Combine(tmp.Path, "circuits", "name-copy.claim.received.html");
        var claim = CircuitFile.Read(circuit);

        claim.Should().BeFaithful(s_model.Value, atLeast: 0.5); // f = 0.914 recorded
        Assert.False(File.Exists(report));

        var act = () => claim.Should().BeFaithful(s_model.Value, atLeast: 0.99);
        var failure = act.Should().Throw<Exception>().Which.Message;
        Assert.Contains($"Report: {report}", failure);
        string html = File.ReadAllText(report);
        Assert.Contains("<pre id=\"note\"", html);
        Assert.Contains("be faithful, f(C) ≥ 0.99", html);
        Assert.Equal(46, ReportContentTests.Attr(html, "data-point").Count); // measured on the model the claim failed on
        Assert.Equal(56, ReportContentTests.Attr(html, "data-edge").Count);
    }
}
