using System.Text.RegularExpressions;
using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Cli;

/// <summary>
/// <c>mechtests report</c> and <c>mechtests diff --html</c> through the real executable on circuits/name-copy.json
/// (56 edges, 14 nodes; stories260K has 46 component nodes), and plain progress lines when stderr is redirected.
/// </summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mechtests-report-cli-" + Guid.NewGuid().ToString("N")[..12]);

    public ReportCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static string NameCopy => Path.Combine(TestPaths.RepoRoot, "circuits", "name-copy.json");

    [Fact]
    public void ReportWritesOnePageWithTheCircuitAndTheComparisonOnTheEmbeddedModel()
    {
        string html = Path.Combine(_dir, "name-copy.html");
        var (code, stdout, stderr) = CliRunner.RunClean(null, "report", NameCopy, "--out", html);
        Assert.Equal(0, code);
        Assert.Equal("", stdout);
        Assert.Contains($"report: {html}", stderr);
        string page = File.ReadAllText(html);
        Assert.Equal(56, Regex.Matches(page, "<g data-edge=").Count);
        Assert.Equal(14, Regex.Matches(page, "<g data-node=").Count);
        Assert.Equal(46, Regex.Matches(page, "data-point=").Count);
        Assert.InRange(new FileInfo(html).Length, 10_000, 1_000_000);
    }

    [Fact]
    public void DiffHtmlOverlaysBothCircuitsAndKeepsTheTextDiffAndExitCode()
    {
        string b = Path.Combine(_dir, "b.json");
        string text = File.ReadAllText(NameCopy).Replace("      {\"name\": \"m3->a4.h2<v>\", \"score\": 0.134877},\n", "");
        File.WriteAllText(b, text.Replace("\"path\": \"../tasks/name-copy.json\"", $"\"path\": \"{Path.GetRelativePath(_dir, Path.Combine(TestPaths.RepoRoot, "tasks", "name-copy.json")).Replace('\\', '/')}\""));
        string html = Path.Combine(_dir, "diff.html");
        var (code, stdout, _) = CliRunner.RunClean(null, "diff", NameCopy, b, "--html", html);
        Assert.Equal(1, code);
        Assert.Contains("- m3->a4.h2<v>", stdout);
        string page = File.ReadAllText(html);
        Assert.Contains("<g data-edge=\"m3-&gt;a4.h2&lt;v&gt;\" data-from=\"m3\" data-to=\"a4.h2\" data-diff=\"removed\"", page);
        Assert.Equal(55, Regex.Matches(page, "<g data-edge=\"[^\"]*\" data-from=\"[^\"]*\" data-to=\"[^\"]*\" data-diff=\"same\"").Count);
    }

    [Fact]
    public void ReportNamesAMissingCircuitFileAndExitsWith2()
    {
        string missing = Path.Combine(_dir, "missing.json");
        var (code, _, stderr) = CliRunner.RunClean(null, "report", missing, "--out", Path.Combine(_dir, "x.html"));
        Assert.Equal(2, code);
        Assert.Contains(missing, stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "x.html")));
    }

    [Fact]
    public void RedirectedProgressIsPlainLinesWithTimeLeft()
    {
        var (code, _, stderr) = CliRunner.RunClean(null, "patch", "--task", Path.Combine(TestPaths.RepoRoot, "tasks", "name-copy.json"), "--level", "node", "--json");
        Assert.Equal(0, code);
        Assert.DoesNotContain('\u001b', stderr); // no terminal control codes in logs
        Assert.Matches(new Regex(@"^patching nodes: 50% \(\d+/\d+\), \d+\.\d s elapsed, ~\d+\.\d s left$", RegexOptions.Multiline), stderr);
        Assert.Matches(new Regex(@"^patching nodes: done, \d+ steps in \d+\.\d s$", RegexOptions.Multiline), stderr);
    }
}
