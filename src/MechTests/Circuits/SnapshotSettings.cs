namespace MechTests.Circuits;

/// <summary>
/// Launches a diff tool on a received/verified pair. The seam where an interactive tool (e.g. via the DiffEngine
/// package) can be plugged in by a local setup; <see cref="SnapshotVerifier"/> never calls it on CI.
/// </summary>
public interface IDiffLauncher
{
    /// <summary>Opens a diff of the two files (must not block the test run).</summary>
    void Launch(string receivedPath, string verifiedPath);
}

/// <summary>
/// Whether snapshot verification may accept (overwrite the verified file), and where it runs. Accepting is explicit
/// (<c>MECHTESTS_ACCEPT=1</c>) and refused on CI — <c>CI=true</c> or a known build server variable — unless
/// <c>MECHTESTS_ACCEPT_ON_CI=1</c> forces it.
/// </summary>
/// <example><code>
/// var verifier = new SnapshotVerifier(SnapshotSettings.FromEnvironment());
/// // or, in a test of the accept path itself:
/// var accepting = new SnapshotVerifier(new SnapshotSettings { AcceptRequested = true });
/// </code></example>
public sealed record SnapshotSettings
{
    /// <summary>The variable that requests accepting: <c>MECHTESTS_ACCEPT</c>.</summary>
    public const string AcceptVariable = "MECHTESTS_ACCEPT";

    /// <summary>The variable that allows accepting on CI: <c>MECHTESTS_ACCEPT_ON_CI</c>.</summary>
    public const string AcceptOnCiVariable = "MECHTESTS_ACCEPT_ON_CI";

    /// <summary>Build-server variables whose presence means CI (besides <c>CI=true</c>).</summary>
    public static IReadOnlyList<string> BuildServerVariables { get; } =
    [
        "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "TEAMCITY_VERSION", "BUILDKITE", "APPVEYOR", "CIRCLECI",
        "TRAVIS", "BITBUCKET_BUILD_NUMBER", "BUILD_ID", "CODEBUILD_BUILD_ID", "DRONE", "SEMAPHORE", "BAMBOO_BUILDKEY",
    ];

    /// <summary>Whether accepting was asked for.</summary>
    public bool AcceptRequested { get; init; }

    /// <summary>
    /// How accepting was asked for, as the user wrote it — <c>MECHTESTS_ACCEPT=1</c>, <c>-p:MechTestsAccept=true</c>,
    /// <c>--accept</c> — so a refusal names what the user actually did. Null when not requested.
    /// </summary>
    public string? AcceptRequestedBy { get; init; }

    /// <summary>Whether accepting on CI was forced.</summary>
    public bool AcceptOnCiForced { get; init; }

    /// <summary>The CI signal found (e.g. <c>GITHUB_ACTIONS</c>), or null when not on CI.</summary>
    public string? CiSignal { get; init; }

    /// <summary>The command a failure message tells people to run (on their own machine, never on CI) to accept.</summary>
    public string AcceptCommand { get; init; } = $"{AcceptVariable}=1 dotnet test";

    /// <summary>Optional diff tool for local runs (never launched on CI).</summary>
    public IDiffLauncher? DiffLauncher { get; init; }

    /// <summary>Writes an HTML report next to the received file when verification fails (null: none). Never called on success.</summary>
    public ISnapshotReportWriter? ReportWriter { get; init; }

    /// <summary>Whether this run is on CI.</summary>
    public bool OnCi => CiSignal != null;

    /// <summary>Whether verification will overwrite verified files: requested, and either not on CI or forced.</summary>
    public bool Accepting => AcceptRequested && (!OnCi || AcceptOnCiForced);

    /// <summary>Reads the settings from environment variables (<paramref name="getVariable"/> defaults to the process environment).</summary>
    public static SnapshotSettings FromEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        bool requested = IsTrue(getVariable(AcceptVariable));
        return new SnapshotSettings
        {
            AcceptRequested = requested,
            AcceptRequestedBy = requested ? $"{AcceptVariable}={getVariable(AcceptVariable)}" : null,
            AcceptOnCiForced = IsTrue(getVariable(AcceptOnCiVariable)),
            CiSignal = DetectCi(getVariable),
        };
    }

    /// <summary>The first CI signal among <c>CI</c> (true/1) and <see cref="BuildServerVariables"/> (any non-empty value), or null.</summary>
    public static string? DetectCi(Func<string, string?> getVariable)
    {
        if (IsTrue(getVariable("CI"))) return "CI";
        foreach (var name in BuildServerVariables)
            if (!string.IsNullOrEmpty(getVariable(name)) && !string.Equals(getVariable(name), "false", StringComparison.OrdinalIgnoreCase)) return name;
        return null;
    }

    private static bool IsTrue(string? v) => v != null && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("yes", StringComparison.OrdinalIgnoreCase));
}
