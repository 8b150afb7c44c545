using System.Text.Json;
using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Cli;

/// <summary>
/// Role claims through the real executable on stories260K (name-copy, the cheap top-20 EAP recipe): discover attaches
/// given and proposed claims and refuses a false one; verify fails on a false claim with its measured value and never
/// accepts it. The DLA values are the ones docs/semantics.md gives (a2.h6 1.38 of the clean logit difference 5.74),
/// checked against PyTorch by the semantics reference tests.
/// </summary>
public sealed class RoleCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mechtests-roles-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string[] Discover(string output, params string[] extra) =>
    [
        "discover", "--task", Path.Combine(TestPaths.RepoRoot, "tasks", "name-copy.json"), "--method", "top-n", "--scores", "eap",
        "--n", "20", "--inline-task", "--no-curves", "--no-completeness", "--minimality-delta", "-1", "--out", output, .. extra,
    ];

    [Fact]
    public void DiscoverRecordsGivenAndProposedRolesAndRefusesOneThatDoesNotHold()
    {
        string path = Path.Combine(_dir, "roles.json");
        var (code, stdout, stderr) = CliRunner.RunClean(null, Discover(path, "--role", "a2.h6=promotes-answer:1", "--roles", "auto"));
        Assert.True(code == 0, stderr);
        var file = CircuitFile.Read(path);
        Assert.Equal(3, file.SchemaVersion);
        // The given threshold wins over the proposal for the same claim (half of 1.38, rounded down: 0.6).
        // The others: the top-20 circuit's heads whose DLA is ≥ 5 % of 5.74 (a4.h0 1.84, a4.h4 0.388), half, rounded down.
        Assert.Equal(new[] { "a2.h6 promotes-answer atLeast 1", "a4.h0 promotes-answer atLeast 0.9", "a4.h4 promotes-answer atLeast 0.1" },
            file.Roles.Select(r => $"{r.Name} {r.Threshold}"));
        Assert.All(file.Roles, r => Assert.True(r.Holds, r.Describe()));
        Assert.Contains("  role a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 1; holds)", stdout);

        string refused = Path.Combine(_dir, "false.json");
        (code, _, stderr) = CliRunner.RunClean(null, Discover(refused, "--role", "a2.h6=promotes-answer:5"));
        Assert.Equal(1, code);
        // The same explanation (6 digits, the convention on its own line) as verification and the assertions give.
        Assert.Contains("error: --role a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 5; does not hold)\n    convention: direct logit attribution", stderr.ReplaceLineEndings("\n"));
        Assert.Contains("false.json not written", stderr);
        Assert.False(File.Exists(refused));

        (code, _, stderr) = CliRunner.RunClean(null, Discover(refused, "--role", "a2.h6=name-mover:1"));
        Assert.Equal(2, code);
        Assert.Contains("--role 'a2.h6=name-mover:1': role 'name-mover' is unknown; expected one of promotes-answer, suppresses-answer", stderr);
    }

    [Fact]
    public void OnAShortContextAutoRolesUseTheLargestPeriodAndAClaimThatCannotFitIsRefusedBeforeDiscovery()
    {
        // models/induction-2l: 31 positions, fewer than the 41 the default repeats (period 20) need.
        string model = Path.Combine(TestPaths.RepoRoot, "models", "induction-2l");
        string[] Args(string output, params string[] extra) =>
        [
            "discover", "--model", model, "--task", Path.Combine(TestPaths.RepoRoot, "tasks", "induction.json"), "--method", "top-n",
            "--scores", "eap", "--n", "12", "--inline-task", "--no-curves", "--no-completeness", "--minimality-delta", "-1", "--out", output, .. extra,
        ];
        string refused = Path.Combine(_dir, "too-long.json");
        var (code, stdout, stderr) = CliRunner.RunClean(null, Args(refused, "--role", "a1.h0=induction-head:0.5"));
        Assert.Equal(2, code);
        Assert.Contains("--role: role a1.h0 induction-head on repeats(period=20,count=16,seed=0) needs 41 positions; the model has 31 " +
                        "(the largest period that fits: 15, e.g. @repeats(period=15,count=16,seed=0)).", stderr);
        Assert.DoesNotContain("discover: scores", stderr); // refused before the pipeline's first stage
        Assert.False(File.Exists(refused));

        string path = Path.Combine(_dir, "induction.json");
        (code, stdout, stderr) = CliRunner.RunClean(null, Args(path, "--roles", "auto"));
        Assert.True(code == 0, stderr);
        var heads = CircuitFile.Read(path).Roles.Where(r => !RoleKinds.IsDirectEffect(r.Kind)).ToList();
        Assert.Contains(heads, r => r.Name == "a0.h1 previous-token-head");
        Assert.Contains(heads, r => r.Node.StartsWith("a1.", StringComparison.Ordinal) && r.Kind == RoleKinds.InductionHead);
        Assert.All(heads, r => Assert.Equal("repeats(period=15,count=16,seed=0)", r.On.ToString()));
    }

    [Fact]
    public void VerifyFailsOnAFalseRoleClaimWithItsMeasuredValueAndNeverAcceptsIt()
    {
        string path = Path.Combine(_dir, "claim.json");
        var (code, _, stderr) = CliRunner.RunClean(null, Discover(path));
        Assert.True(code == 0, stderr);
        var discovered = CircuitFile.Read(path);
        discovered.WithRoles(RoleClaim.PromotesAnswer("a2.h6", atLeast: 5), RoleClaim.SuppressesAnswer("a4.h2", atMost: -0.3)).Write(path);
        string verified = Path.Combine(_dir, "claim.verified.json");

        (code, var stdout, _) = CliRunner.RunClean(null, "verify", path, "--accept", "--json");
        Assert.Equal(1, code);
        var row = JsonDocument.Parse(stdout).RootElement.GetProperty("circuits")[0];
        Assert.Equal("role failed", row.GetProperty("status").GetString());
        string message = row.GetProperty("message").GetString()!;
        Assert.Contains("1 of 2 role claims of 'claim' does not hold:\n  a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 5; does not hold)", message);
        Assert.Contains("A role claim that does not hold is never accepted", message);
        Assert.False(File.Exists(verified));
        var roles = row.GetProperty("roles").EnumerateArray().ToList();
        Assert.Equal([false, true], roles.Select(r => r.GetProperty("holds").GetBoolean()));

        // With a true threshold the same file verifies, and the table counts the claims that hold.
        CircuitFile.Read(path).WithRoles(RoleClaim.PromotesAnswer("a2.h6", atLeast: 1), RoleClaim.SuppressesAnswer("a4.h2", atMost: -0.3)).Write(path);
        (code, stdout, _) = CliRunner.RunClean(null, "verify", path, "--accept");
        Assert.Equal(0, code);
        Assert.Contains("2 of 2", stdout);
        Assert.True(File.Exists(verified));
    }
}
