using System.Text.Json;
using MechTests.Circuits;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Interactions;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Reports.Tests;

/// <summary>One browser for the class (starting Chromium is the slow part); each test opens its own page.</summary>
public sealed class BrowserFixture : IDisposable
{
    private readonly TempFolder _folder = new();
    private ChromeDriver? _driver;

    public string Folder => _folder.Path;

    public ChromeDriver Driver => _driver ??= Browser.Start(Path.Combine(_folder.Path, "profile"));

    public void Dispose()
    {
        _driver?.Quit();
        _folder.Dispose();
    }
}

/// <summary>
/// The reports in a real headless Chromium: they load with no console errors and no network requests, show one
/// element per node and edge of the circuit, show an edge's score when the mouse is over it, and mark the diff.
/// Screenshots go to TestResults/reports (or $MECHTESTS_ARTIFACTS).
/// </summary>
public sealed class BrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private ChromeDriver Open(string html, string name)
    {
        string path = Path.Combine(browser.Folder, name + ".html");
        File.WriteAllText(path, html);
        var d = browser.Driver;
        d.Manage().Logs.GetLog(LogType.Browser); // drop what earlier pages logged
        d.Manage().Logs.GetLog("performance");
        d.Navigate().GoToUrl(new Uri(path).AbsoluteUri);
        return d;
    }

    private static List<string> ConsoleErrors(ChromeDriver d)
        => d.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message).ToList();

    /// <summary>URLs of every request the page made (DevTools Network.requestWillBeSent), other than the page's own file: URL.</summary>
    private static List<string> Requests(ChromeDriver d, string pageUrl)
    {
        var urls = new List<string>();
        foreach (var entry in d.Manage().Logs.GetLog("performance"))
        {
            using var doc = JsonDocument.Parse(entry.Message);
            var m = doc.RootElement.GetProperty("message");
            if (m.GetProperty("method").GetString() != "Network.requestWillBeSent") continue;
            string url = m.GetProperty("params").GetProperty("request").GetProperty("url").GetString()!;
            if (url != pageUrl) urls.Add(url);
        }
        return urls;
    }

    private void Screenshot(ChromeDriver d, string name)
    {
        string png = Path.Combine(Repo.Artifacts, name + ".png");
        d.GetScreenshot().SaveAsFile(png);
        output.WriteLine($"screenshot: {png}");
    }

    [BrowserFact]
    public void ReportLoadsCleanlyWithOneElementPerNodeAndEdge()
    {
        var d = Open(ReportContentTests.Measured.ToHtml(), "name-copy");
        Assert.Empty(ConsoleErrors(d));
        Assert.Empty(Requests(d, d.Url));
        Assert.Equal(0L, Convert.ToInt64(d.ExecuteScript("return performance.getEntriesByType('resource').length")));
        var edges = Repo.Edges(Repo.NameCopy).Select(e => e.Name).Order(StringComparer.Ordinal).ToList();
        var nodes = Repo.Nodes(Repo.NameCopy).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(edges, d.FindElements(By.CssSelector("[data-edge]")).Select(e => e.GetAttribute("data-edge")!).Order(StringComparer.Ordinal));
        Assert.Equal(nodes, d.FindElements(By.CssSelector("[data-node]")).Select(e => e.GetAttribute("data-node")!).Order(StringComparer.Ordinal));
        // Every edge is drawn with a visible length (layout placed both ends).
        Assert.Equal(0L, Convert.ToInt64(d.ExecuteScript("return [...document.querySelectorAll('[data-edge] path.line')].filter(p => !(p.getTotalLength() > 10)).length")));
        Screenshot(d, "name-copy-report");
    }

    [BrowserFact]
    public void HoveringAnEdgeShowsItsNameAndScore()
    {
        var d = Open(ReportContentTests.FileOnly().ToHtml(), "hover");
        var scores = Repo.Edges(Repo.NameCopy).ToDictionary(e => e.Name, e => e.Score);
        // A point on an edge where that edge is the topmost element (edges cross; most have such a point).
        var hit = (IReadOnlyCollection<object>)d.ExecuteScript("""
            for (const g of document.querySelectorAll('[data-edge]')) {
              const p = g.querySelector('path.line'), L = p.getTotalLength();
              for (const t of [0.5, 0.3, 0.7, 0.2, 0.8]) {
                const q = p.getPointAtLength(L * t), m = p.getScreenCTM();
                const x = q.x * m.a + q.y * m.c + m.e, y = q.x * m.b + q.y * m.d + m.f;
                const el = document.elementFromPoint(x, y), owner = el && el.closest('[data-edge]');
                if (owner === g) return [g.getAttribute('data-edge'), Math.round(x), Math.round(y)];
              }
            }
            return null;
            """)!;
        var h = hit.ToList();
        string name = (string)h[0]!;
        Assert.Equal("none", (string?)d.ExecuteScript("return getComputedStyle(document.getElementById('tip')).display"));
        new Actions(d).MoveToLocation(Convert.ToInt32(h[1]), Convert.ToInt32(h[2])).Perform();
        var tip = d.FindElement(By.Id("tip"));
        Assert.True(tip.Displayed, $"no tooltip over {name}");
        Assert.Contains(name, tip.Text);
        Assert.Contains($"score {scores[name]}", tip.Text);
        Assert.Contains("atp-star/abs_mean", tip.Text);
        output.WriteLine($"hovered {name}: {tip.Text.Replace('\n', ' ')}");
    }

    [BrowserFact]
    public void DiffViewMarksAddedRemovedAndChangedEdges()
    {
        var a = CircuitFile.Read(Repo.NameCopy);
        var d = Open(new CircuitDiffReport(a, DiffTests.Changed(a)).ToHtml(), "diff");
        Assert.Empty(ConsoleErrors(d));
        Assert.Empty(Requests(d, d.Url));
        string State(string edge) => d.FindElement(By.CssSelector($"[data-edge='{edge}']")).GetAttribute("data-diff")!;
        Assert.Equal("removed", State(DiffTests.Removed));
        Assert.Equal("added", State(DiffTests.Added));
        Assert.Equal("changed", State(DiffTests.Rescored));
        Assert.Equal(57, d.FindElements(By.CssSelector("[data-edge]")).Count);
        Assert.Equal(54, d.FindElements(By.CssSelector("[data-edge][data-diff='same']")).Count);
        // Drawn differently: the removed edge dashed red, the added one green.
        Assert.Equal("rgb(220, 38, 38)", d.FindElement(By.CssSelector($"[data-edge='{DiffTests.Removed}'] path.line")).GetCssValue("stroke"));
        Assert.Equal("6px, 4px", d.FindElement(By.CssSelector($"[data-edge='{DiffTests.Removed}'] path.line")).GetCssValue("stroke-dasharray"));
        Assert.Equal("rgb(22, 163, 74)", d.FindElement(By.CssSelector($"[data-edge='{DiffTests.Added}'] path.line")).GetCssValue("stroke"));
        Screenshot(d, "name-copy-diff");
    }

    [BrowserFact]
    public void AnExternalReferenceWouldBeCaught()
    {
        // The checks above can fail: a page that references the network shows up in the console (blocked by the policy).
        string html = ReportContentTests.FileOnly().ToHtml().Replace("</body>", "<img src=\"http://127.0.0.1:9/x.png\"></body>");
        var d = Open(html, "tampered");
        Assert.NotEmpty(ConsoleErrors(d).Concat(Requests(d, d.Url)));
    }
}
