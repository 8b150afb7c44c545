using System.Text.Json;
using MechTests.Circuits;
using MechTests.Tests.Cli;
using Xunit;

namespace MechTests.Tests.Reliability;

/// <summary>
/// Issue 19, defects 3–5 through the real executable: one file's problem is that file's row in <c>verify</c> while
/// the others still run; a destination that cannot be written fails before the computation with exit 3; usage
/// errors exit 2, never 1 (which means "a check failed / files differ").
/// </summary>
public sealed class CliReliabilityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mechtests-rel-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string[] CheapDiscover(string output) =>
    [
        "discover", "--task", Path.Combine(TestPaths.RepoRoot, "tasks", "name-copy.json"), "--method", "top-n", "--scores", "eap",
        "--n", "10", "--inline-task", "--out", output, "--no-curves", "--no-completeness", "--minimality-delta", "-1",
    ];

    [Fact]
    public void VerifyReportsABadFileAsItsOwnRowAndStillChecksTheOthers()
    {
        var (code, _, stderr) = CliRunner.RunClean(null, CheapDiscover(Path.Combine(_dir, "good.json")));
        Assert.True(code == 0, stderr);
        string bad = Path.Combine(_dir, "bad.json");
        File.WriteAllBytes(bad, [.. "{\"schemaVersion\": 1, \"x\": \""u8, 0xFF, 0xFE, .. "\"}"u8]);

        (code, string stdout, stderr) = CliRunner.RunClean(null, "verify", _dir, "--accept", "--json");
        Assert.True(code == 1, stderr);
        var rows = JsonDocument.Parse(stdout).RootElement.GetProperty("circuits").EnumerateArray()
            .ToDictionary(r => r.GetProperty("name").GetString()!, r => r);
        Assert.Equal("error", rows["bad"].GetProperty("status").GetString());
        Assert.Equal($"{bad}(1,28): not valid UTF-8 here; save the file as UTF-8.", rows["bad"].GetProperty("message").GetString());
        Assert.Equal("created", rows["good"].GetProperty("status").GetString()); // checked and accepted despite bad.json
        Assert.True(File.Exists(Path.Combine(_dir, "good.verified.json")));
    }

    [Fact]
    public void ADestinationThatIsAFolderFailsBeforeComputingWithExitCode3()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_dir, "taken.json")).FullName;
        var (code, stdout, stderr) = CliRunner.RunClean(null, CheapDiscover(folder));
        Assert.Equal(3, code);
        Assert.Equal("", stdout);
        // One line naming the path, and no stage ran (a stage prints "discover: …" progress lines when redirected).
        Assert.Equal([$"error: I/O: --out '{folder}' is a folder; expected a file name."], stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void VerifyAcceptChecksTheSnapshotDestinationBeforeRederiving()
    {
        var (code, _, stderr) = CliRunner.RunClean(null, CheapDiscover(Path.Combine(_dir, "c.json")));
        Assert.True(code == 0, stderr);
        string blocked = Directory.CreateDirectory(Path.Combine(_dir, "c.verified.json")).FullName;
        (code, string stdout, stderr) = CliRunner.RunClean(null, "verify", Path.Combine(_dir, "c.json"), "--accept", "--json");
        Assert.Equal(1, code);
        var row = JsonDocument.Parse(stdout).RootElement.GetProperty("circuits")[0];
        Assert.Equal("error", row.GetProperty("status").GetString());
        Assert.Equal($"{Path.Combine(_dir, "c.json")}: snapshot '{blocked}' is a folder; expected a file name.", row.GetProperty("message").GetString());
        Assert.DoesNotContain("verify c:", stderr); // no stage ran
    }

    [Theory]
    [InlineData("diff", "circuits/name-copy.json", "circuits/name-copy.json", "--jsn")]
    [InlineData("agreement", "--task")]
    [InlineData("no-such-command")]
    [InlineData("logits", "--tokens", "1,2", "--json", "extra")]
    public void UsageErrorsExit2WithTheUsageHint(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.RunClean(null, args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: ", stderr);
        Assert.Contains("usage: mechtests", stderr);
    }

    [Fact]
    public void EveryFailureClassHasItsExitCodeAndOneLine()
    {
        var cases = new (Exception Error, int Code, string Text)[]
        {
            (new InvalidDataException("m.json: bad"), 2, "error: m.json: bad"),
            (new FileNotFoundException("x.json: not found"), 2, "error: x.json: not found"),
            (new DirectoryNotFoundException("--out: folder 'f' does not exist."), 2, "error: --out: folder 'f' does not exist."),
            (new CircuitFormatException("c.json", 3, 4, "model", "bad"), 2, "error: c.json(3,4): model: bad"),
            (new IOException("No space left on device : '/tmp/x'"), 3, "error: I/O: No space left on device : '/tmp/x'"),
            (new UnauthorizedAccessException("Access to the path '/r/x' is denied."), 3, "error: I/O: Access to the path '/r/x' is denied."),
            (new NullReferenceException("Object reference not set to an instance of an object."), 4,
                "internal error: NullReferenceException: Object reference not set to an instance of an object. (a bug in MechTests; MECHTESTS_TRACE=1 prints the stack trace)"),
        };
        foreach (var (error, code, text) in cases)
            Assert.Equal((code, text), MechTests.Cli.CliSupport.Classify(error));
    }

    [Fact]
    public void AStaleTemporaryFileOfAKilledWriterIsRemovedByTheNextWrite()
    {
        using var exited = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        string stale = Path.Combine(_dir, $".x.json.{exited.Id}.{Guid.NewGuid():N}.tmp");
        string live = Path.Combine(_dir, $".x.json.1.{Guid.NewGuid():N}.tmp"); // pid 1 is always running
        string other = Path.Combine(_dir, $".y.json.{exited.Id}.{Guid.NewGuid():N}.tmp");
        foreach (var f in new[] { stale, live, other }) File.WriteAllText(f, "partial");
        AtomicFile.WriteAllText(Path.Combine(_dir, "x.json"), "{}");
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other)); // another file's temporaries are left to its own writes
        Assert.Equal("{}", File.ReadAllText(Path.Combine(_dir, "x.json")));
        // And git ignores them.
        Assert.Contains(".*.tmp", File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, ".gitignore")));
    }
}
