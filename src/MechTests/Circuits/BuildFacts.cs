using System.Reflection;

namespace MechTests.Circuits;

/// <summary>
/// Facts the MSBuild integration (<c>MechTests.props</c>/<c>.targets</c>) bakes into a test assembly as
/// <c>[assembly: AssemblyMetadata("MechTests.X", "…")]</c>: the project folder, the circuits folder and the
/// accept/strict switches. Environment variables still win where they are set, so
/// <c>MECHTESTS_ACCEPT=1 dotnet test</c> and <c>dotnet test -p:MechTestsAccept=true</c> mean the same.
/// </summary>
/// <example><code>
/// var facts = BuildFacts.From(typeof(MyCircuitTests).Assembly);
/// string circuits = facts.CircuitsDirectory ?? "circuits";
/// var verifier = new SnapshotVerifier(facts.SnapshotSettings());   // accepts only when asked, never on CI
/// </code></example>
/// <param name="ProjectDirectory">The test project's folder at build time (<c>MechTests.ProjectDirectory</c>), or null.</param>
/// <param name="CircuitsDirectory">The circuits folder (<c>MechTests.CircuitsDirectory</c>, <c>$(MechTestsCircuitsDirectory)</c>), or null.</param>
/// <param name="Accept">Whether the build asked to accept snapshots (<c>MechTests.Accept</c>, <c>$(MechTestsAccept)</c>).</param>
/// <param name="AcceptOnCi">Whether accepting on CI was forced at build (<c>MechTests.AcceptOnCI</c>, <c>$(MechTestsAcceptOnCI)</c>).</param>
/// <param name="Strict">Strict mode (<c>MechTests.Strict</c>, <c>$(MechTestsStrict)</c>): a missing model fails instead of skipping.</param>
public sealed record BuildFacts(string? ProjectDirectory, string? CircuitsDirectory, bool Accept, bool AcceptOnCi, bool Strict)
{
    /// <summary>Prefix of every metadata key.</summary>
    public const string Prefix = "MechTests.";

    /// <summary>The variable that turns strict mode on at run time: <c>MECHTESTS_STRICT</c>.</summary>
    public const string StrictVariable = "MECHTESTS_STRICT";

    /// <summary>No build facts (an assembly built without the MSBuild integration).</summary>
    public static BuildFacts None { get; } = new(null, null, false, false, false);

    /// <summary>Reads the <c>MechTests.*</c> assembly metadata of <paramref name="assembly"/>, combined with the environment.</summary>
    public static BuildFacts From(Assembly assembly, Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var meta = assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Where(a => a.Key.StartsWith(Prefix, StringComparison.Ordinal))
            .GroupBy(a => a.Key[Prefix.Length..], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
        string? Get(string key) => meta.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v : null;
        return new BuildFacts(
            Get("ProjectDirectory"),
            Get("CircuitsDirectory"),
            IsTrue(Get("Accept")),
            IsTrue(Get("AcceptOnCI")),
            IsTrue(Get("Strict")) || IsTrue(getVariable(StrictVariable)));
    }

    /// <summary>
    /// Snapshot settings: the environment's (<see cref="SnapshotSettings.FromEnvironment"/>), with this build's
    /// accept request added. On CI accepting still needs <c>MechTestsAcceptOnCI=true</c> or <c>MECHTESTS_ACCEPT_ON_CI=1</c>.
    /// </summary>
    public SnapshotSettings SnapshotSettings(Func<string, string?>? getVariable = null)
    {
        var s = Circuits.SnapshotSettings.FromEnvironment(getVariable);
        return s with
        {
            AcceptRequested = s.AcceptRequested || Accept,
            AcceptRequestedBy = s.AcceptRequestedBy ?? (Accept ? "-p:MechTestsAccept=true" : null),
            AcceptOnCiForced = s.AcceptOnCiForced || AcceptOnCi,
            AcceptCommand = ProjectDirectory != null ? "dotnet test -p:MechTestsAccept=true" : s.AcceptCommand,
        };
    }

    /// <summary>
    /// <paramref name="path"/> resolved against the circuits folder (then the project folder); absolute paths and
    /// paths that exist from the current folder are returned unchanged.
    /// </summary>
    public string ResolveCircuitPath(string path)
    {
        if (Path.IsPathRooted(path)) return path;
        if (CircuitsDirectory != null && File.Exists(Path.Combine(CircuitsDirectory, path))) return Path.GetFullPath(Path.Combine(CircuitsDirectory, path));
        if (ProjectDirectory != null && File.Exists(Path.Combine(ProjectDirectory, path))) return Path.GetFullPath(Path.Combine(ProjectDirectory, path));
        return Path.GetFullPath(path);
    }

    internal static bool IsTrue(string? v) => v != null && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("yes", StringComparison.OrdinalIgnoreCase));
}
