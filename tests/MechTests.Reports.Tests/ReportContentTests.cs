using System.Net;
using System.Text.RegularExpressions;
using MechTests.Circuits;
using MechTests.Models;
using MechTests.Models.Loading;
using Xunit;

namespace MechTests.Reports.Tests;

/// <summary>
/// What the report pages contain, checked against the circuit file read independently (System.Text.Json): one
/// element per node and edge with the file's names, the file's scores in the tooltips, the recorded curves, nothing
/// that would load from the network, and the size.
/// </summary>
public sealed class ReportContentTests
{
    private static readonly Lazy<LoadedModel> s_model = new(() => ModelLoader.Load(EmbeddedModels.Stories260KPath));
    private static readonly Lazy<CircuitReport> s_measured = new(() => CircuitReport.Measure(CircuitFile.Read(Repo.NameCopy), s_model.Value));

    internal static CircuitReport FileOnly() { var f = CircuitFile.Read(Repo.NameCopy); return new CircuitReport(f) { Pairs = PromptPairText.FromTaskFile(f) }; }

    internal static CircuitReport Measured => s_measured.Value;

    internal static List<string> Attr(string html, string attr)
        => Regex.Matches(html, $"{attr}=\"([^\"]*)\"").Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).ToList();

    [Fact]
    public void EveryNodeAndEdgeOfTheFileHasExactlyOneElementWithItsName()
    {
        string html = FileOnly().ToHtml();
        var edges = Repo.Edges(Repo.NameCopy).Select(e => e.Name).ToList();
        var nodes = Repo.Nodes(Repo.NameCopy);
        Assert.Equal(56, edges.Count);
        Assert.Equal(14, nodes.Count);
        Assert.Equal(edges.Order(StringComparer.Ordinal), Attr(html, "data-edge").Order(StringComparer.Ordinal));
        Assert.Equal(nodes.Order(StringComparer.Ordinal), Attr(html, "data-node").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EdgeTooltipsCarryTheFileScoreAndItsConventions()
    {
        string html = FileOnly().ToHtml();
        var tips = Regex.Matches(html, "<g data-edge=\"([^\"]*)\"[^>]*data-tip=\"([^\"]*)\"")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));
        foreach (var (name, score) in Repo.Edges(Repo.NameCopy))
        {
            Assert.StartsWith($"{name}\nscore {score}\n", tips[name]);
            Assert.Contains("atp-star/abs_mean", tips[name]);
        }
    }

    [Fact]
    public void CurvesAreTheRecordedPointsWithCprAndCmdPrinted()
    {
        string html = FileOnly().ToHtml();
        // circuits/name-copy.json records 10 points per curve, cpr 0.989091 and cmd 0.0115031, faithfulness 0.91374 at 56 edges.
        foreach (var key in new[] { "cpr", "cmd" })
        {
            var line = Regex.Match(html, $"<polyline data-series=\"{key}\" points=\"([^\"]*)\"").Groups[1].Value;
            Assert.Equal(10, line.Split(' ').Length);
            Assert.Contains($"data-area=\"{key}\"", html);
        }
        Assert.Contains("<b>CPR 0.9891</b>", html);
        Assert.Contains("<b>CMD 0.0115</b>", html);
        Assert.Contains("<b>f = 0.9137</b> at 56 edges", html);
        Assert.Single(Regex.Matches(html, "data-mark=\"circuit\""));
    }

    [Fact]
    public void PagesLoadNothingAndStayWellUnderAMegabyte()
    {
        var diff = new CircuitDiffReport(CircuitFile.Read(Repo.NameCopy), DiffTests.Changed(CircuitFile.Read(Repo.NameCopy)));
        foreach (string html in new[] { FileOnly().ToHtml(), Measured.ToHtml(), diff.ToHtml() })
        {
            var urls = Regex.Matches(html, "https?://[^\"' <]*").Select(m => m.Value).Distinct().ToList();
            Assert.Equal(["http://www.w3.org/2000/svg"], urls); // the SVG namespace, an identifier that is never fetched
            Assert.DoesNotMatch("<(link|img|iframe|object|embed)\\b|\\bsrc=|url\\(|@import", html);
            Assert.Contains("default-src 'none'", html);
            Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(html), 10_000, 200_000);
        }
    }

    [Fact]
    public void MeasuredReportPlotsEveryComponentNodeWithTheAgreementFigures()
    {
        var report = Measured;
        string html = report.ToHtml();
        // stories260K: input + 5 layers × (8 heads + 1 MLP) = 46 component nodes.
        Assert.Equal(46, Attr(html, "data-point").Count);
        var a = report.Attribution!.Agreement;
        Assert.Equal(46, a.Count);
        Assert.Contains($"<b>Spearman ρ {a.Spearman.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}</b>", html);
        Assert.Contains($"top-10 recall {a.TopKRecall.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}", html);
        // The task's pairs as text, decoded with the model's tokenizer: the first pair of tasks/name-copy.json.
        Assert.Contains("Once upon a time, there was a girl named Lily. One day,", html);
        Assert.Contains("Once upon a time, there was a girl named Tim. One day,", html);
    }

    [Fact]
    public void SameInputsGiveTheSameBytes()
    {
        Assert.Equal(FileOnly().ToHtml(), FileOnly().ToHtml());
        var again = CircuitReport.Measure(CircuitFile.Read(Repo.NameCopy), s_model.Value);
        Assert.Equal(Measured.ToHtml(), again.ToHtml());
    }
}
