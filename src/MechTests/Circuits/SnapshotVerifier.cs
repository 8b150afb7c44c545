namespace MechTests.Circuits;

/// <summary>What a successful verification did.</summary>
public enum SnapshotStatus
{
    /// <summary>The received circuit matches the verified file within tolerance (the file is left byte-for-byte alone).</summary>
    Matched,
    /// <summary>Accept mode: the verified file did not exist and was created.</summary>
    Created,
    /// <summary>Accept mode: the verified file differed (or was unreadable) and was replaced.</summary>
    Updated,
}

/// <summary>The outcome of a verification that did not fail.</summary>
/// <param name="Status">Matched, created or updated.</param>
/// <param name="VerifiedPath">Full path of the verified file.</param>
/// <param name="Diff">The differences that were accepted (Updated), or null.</param>
public sealed record SnapshotResult(SnapshotStatus Status, string VerifiedPath, CircuitDiffResult? Diff);

/// <summary>
/// Snapshot testing of circuits with Verify's conventions: <c>X.verified.json</c> is committed next to the test that
/// produces it; a run compares the circuit it computed with that file <b>semantically</b> (membership exactly,
/// numbers within the verified file's tolerances — hand-tuned there, they survive accepting), and on a mismatch
/// writes <c>X.received.json</c> (git-ignored) and fails with the differences, both paths and the accept command.
/// Accepting (<c>MECHTESTS_ACCEPT=1</c>) replaces the verified file atomically; it is refused on CI unless
/// <c>MECHTESTS_ACCEPT_ON_CI=1</c>. A received file whose role claims (<see cref="CircuitFile.Roles"/>) do not all
/// hold fails with <see cref="SnapshotFailure.RoleClaimFailed"/> whatever the snapshot says, and is never accepted.
/// </summary>
/// <example><code>
/// [Fact]
/// public void NameCopyCircuitIsStable()
/// {
///     var file = CircuitFile.Create(CircuitDiscovery.Acdc(runs, 0.02), identity, TaskReference.Inline(runs.Task));
///     new SnapshotVerifier().Verify(file, "Circuits/name-copy.verified.json"); // throws SnapshotMismatchException
/// }
/// </code></example>
public sealed class SnapshotVerifier
{
    /// <summary>Suffix of committed snapshots.</summary>
    public const string VerifiedSuffix = ".verified.json";

    /// <summary>Suffix of files written on mismatch.</summary>
    public const string ReceivedSuffix = ".received.json";

    /// <summary>A verifier with explicit settings, or settings read from the environment.</summary>
    public SnapshotVerifier(SnapshotSettings? settings = null) => Settings = settings ?? SnapshotSettings.FromEnvironment();

    /// <summary>Accept mode, CI detection, accept command, diff tool.</summary>
    public SnapshotSettings Settings { get; }

    /// <summary>
    /// Verifies <paramref name="received"/> against <paramref name="path"/> (<c>X.verified.json</c>, or <c>X</c> to which
    /// the suffix is added). Returns on a match (or when accepting); throws <see cref="SnapshotMismatchException"/>
    /// otherwise, after writing <c>X.received.json</c>. A stale received file is removed when the snapshot passes.
    /// </summary>
    public SnapshotResult Verify(CircuitFile received, string path)
    {
        // Always the source tree: a relative path resolves against the project, a copy under bin/ maps back to it.
        string verifiedPath = ProjectPaths.ResolveForWrite(VerifiedPathOf(path));
        string receivedPath = ReceivedPathOf(verifiedPath);

        if (!File.Exists(verifiedPath))
        {
            string fresh = received.ToJson();
            if (RoleFailure(fresh, receivedPath, verifiedPath) is { } missingRoles)
                throw Fail(SnapshotFailure.RoleClaimFailed, verifiedPath, receivedPath, fresh, null, null, missingRoles, acceptable: false);
            if (Settings.Accepting) return Accept(SnapshotStatus.Created, verifiedPath, receivedPath, fresh, null);
            throw Fail(SnapshotFailure.Missing, verifiedPath, receivedPath, fresh, null, null,
                $"No verified snapshot yet: {Path.GetFileName(verifiedPath)} does not exist. Review the received file, then accept it.");
        }

        CircuitFile verified;
        try
        {
            verified = CircuitFile.Read(verifiedPath);
        }
        catch (CircuitFormatException e)
        {
            string fresh = received.ToJson();
            if (RoleFailure(fresh, receivedPath, verifiedPath) is { } unreadableRoles)
                throw Fail(SnapshotFailure.RoleClaimFailed, verifiedPath, receivedPath, fresh, null, null, unreadableRoles, acceptable: false);
            if (Settings.Accepting) return Accept(SnapshotStatus.Updated, verifiedPath, receivedPath, fresh, null);
            throw Fail(SnapshotFailure.Unreadable, verifiedPath, receivedPath, fresh, null, null, $"The verified snapshot cannot be read: {e.Message}");
        }

        // The committed file's tolerances are authoritative (they may be hand-tuned there), so the received file
        // carries them and accepting keeps them.
        string text = received.WithTolerances(verified.Tolerances).ToJson();
        // Compare what would be on disk, so both sides carry the same rounding.
        var receivedAsWritten = CircuitFile.Parse(text, receivedPath);
        var diff = CircuitDiff.Compare(verified, receivedAsWritten);
        // A claim that does not hold fails whatever the snapshot says, and accepting cannot make it true.
        if (RoleFailure(receivedAsWritten, verifiedPath) is { } roles)
            throw Fail(SnapshotFailure.RoleClaimFailed, verifiedPath, receivedPath, text, diff.AreEquivalent ? null : diff, verified,
                diff.AreEquivalent ? roles : $"{roles}\nSnapshot differences: {diff.Render()}", acceptable: false);
        if (diff.AreEquivalent)
        {
            DeleteIfExists(receivedPath);
            DeleteIfExists(Path.ChangeExtension(receivedPath, ".html")); // a failure's report goes with its received file
            return new SnapshotResult(SnapshotStatus.Matched, verifiedPath, null);
        }
        if (Settings.Accepting) return Accept(SnapshotStatus.Updated, verifiedPath, receivedPath, text, diff);
        throw Fail(SnapshotFailure.Mismatch, verifiedPath, receivedPath, text, diff, verified,
            $"Circuit snapshot mismatch for '{Path.GetFileName(verifiedPath)[..^VerifiedSuffix.Length]}': {diff.Render()}");
    }

    /// <summary>
    /// Verifies against <c>{name}.verified.json</c> in the folder of the calling source file (Verify's convention:
    /// the snapshot is committed next to the test that produces it).
    /// </summary>
    /// <example><code>
    /// new SnapshotVerifier().VerifyNextToSource(file, "name-copy-top20"); // Circuits/name-copy-top20.verified.json
    /// </code></example>
    public SnapshotResult VerifyNextToSource(CircuitFile received, string name, [System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        string folder = Path.GetDirectoryName(sourceFile) is { Length: > 0 } d && Directory.Exists(d) ? d
            : throw new InvalidOperationException($"The source folder of '{sourceFile}' does not exist on this machine (tests built elsewhere?); pass a path to Verify instead.");
        return Verify(received, Path.Combine(folder, name));
    }

    /// <summary><c>X.verified.json</c> for <c>X</c> or <c>X.verified.json</c>.</summary>
    public static string VerifiedPathOf(string path)
        => path.EndsWith(VerifiedSuffix, StringComparison.Ordinal) ? path
            : path.EndsWith(ReceivedSuffix, StringComparison.Ordinal) ? path[..^ReceivedSuffix.Length] + VerifiedSuffix
            : path + VerifiedSuffix;

    /// <summary><c>X.received.json</c> next to <c>X.verified.json</c>.</summary>
    public static string ReceivedPathOf(string verifiedPath) => VerifiedPathOf(verifiedPath)[..^VerifiedSuffix.Length] + ReceivedSuffix;

    /// <summary>
    /// Verified snapshots under <paramref name="directory"/> (recursively) that no known test produces: every
    /// <c>*.verified.json</c> whose name (without the suffix, or with it) is not in <paramref name="expectedNames"/>.
    /// Names may be bare (<c>ioi</c>) or relative to the directory (<c>sub/ioi</c>). Sorted, full paths.
    /// </summary>
    public static IReadOnlyList<string> FindOrphans(string directory, IEnumerable<string> expectedNames)
    {
        if (!Directory.Exists(directory)) return [];
        static string Base(string n) => (n.EndsWith(VerifiedSuffix, StringComparison.Ordinal) ? n[..^VerifiedSuffix.Length] : n).Replace('\\', '/');
        var expected = expectedNames.Select(Base).ToHashSet(StringComparer.Ordinal);
        string root = Path.GetFullPath(directory);
        return Directory.EnumerateFiles(root, "*" + VerifiedSuffix, SearchOption.AllDirectories)
            .Where(f =>
            {
                string rel = Base(Path.GetRelativePath(root, f));
                return !expected.Contains(rel) && !expected.Contains(Base(Path.GetFileName(f)));
            })
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private SnapshotResult Accept(SnapshotStatus status, string verifiedPath, string receivedPath, string text, CircuitDiffResult? diff)
    {
        AtomicFile.WriteAllText(verifiedPath, text);
        DeleteIfExists(receivedPath);
        DeleteIfExists(Path.ChangeExtension(receivedPath, ".html"));
        return new SnapshotResult(status, verifiedPath, diff);
    }

    private static string? RoleFailure(string text, string receivedPath, string verifiedPath) => RoleFailure(CircuitFile.Parse(text, receivedPath), verifiedPath);

    /// <summary>The message for the role claims of <paramref name="received"/> that do not hold, or null when all hold.</summary>
    private static string? RoleFailure(CircuitFile received, string verifiedPath)
    {
        var failing = received.FailingRoles();
        if (failing.Count == 0) return null;
        string name = Path.GetFileName(verifiedPath)[..^VerifiedSuffix.Length];
        var sb = new System.Text.StringBuilder();
        sb.Append($"{failing.Count} of {received.Roles.Count} role claim{(received.Roles.Count == 1 ? "" : "s")} of '{name}' do{(failing.Count == 1 ? "es" : "")} not hold:\n");
        foreach (var r in failing)
            sb.Append("  ").Append(r.Explain(convention: true)).Append('\n');
        if (failing.Any(r => r.Value == null))
            sb.Append("A claim without a value was never measured: verify the re-derived file (CircuitPipeline.Rederive, or Evaluate), which measures every claim.\n");
        return sb.ToString().TrimEnd('\n');
    }

    private SnapshotMismatchException Fail(SnapshotFailure failure, string verifiedPath, string receivedPath, string text, CircuitDiffResult? diff,
        CircuitFile? verified, string what, bool acceptable = true)
    {
        // A folder that cannot be written (read-only checkout, full disk) must not turn the mismatch into an I/O error
        // that hides what differed: the failure still carries the diff, and says the received file is missing.
        bool written = true;
        try { AtomicFile.WriteAllText(receivedPath, text); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            written = false;
            what += $"\n(received file not written: {e.Message})";
        }
        string? report = null;
        if (Settings.ReportWriter != null && written)
        {
            // The report is a convenience next to the real failure: if it cannot be written, say so and fail as before.
            try { report = Settings.ReportWriter.Write(verified, CircuitFile.Parse(text, receivedPath), diff, receivedPath); }
            catch (Exception e) when (e is not OutOfMemoryException) { what += $"\n(report not written: {e.Message})"; }
        }
        if (!Settings.OnCi && Settings.DiffLauncher != null)
        {
            // A local convenience only: a diff tool that fails to start must not hide the real failure.
            try { Settings.DiffLauncher.Launch(receivedPath, verifiedPath); }
            catch (Exception e) when (e is not OutOfMemoryException) { what += $"\n(diff tool failed to start: {e.Message})"; }
        }
        var msg = new System.Text.StringBuilder();
        msg.Append(what.TrimEnd('\n')).Append('\n');
        msg.Append("Verified: ").Append(verifiedPath).Append(File.Exists(verifiedPath) ? "" : " (missing)").Append('\n');
        msg.Append("Received: ").Append(receivedPath).Append(written ? "" : " (not written)").Append('\n');
        if (report != null) msg.Append("Report: ").Append(report).Append('\n');
        msg.Append(acceptable ? AcceptAdvice(Settings)
            : $"A role claim that does not hold is never accepted: if the model is right, change the claim in {Path.GetFileName(verifiedPath)[..^VerifiedSuffix.Length]}.json (its threshold, or remove the role); otherwise fix the model.");
        return new SnapshotMismatchException(failure, verifiedPath, receivedPath, diff, msg.ToString()) { ReportPath = report };
    }

    /// <summary>
    /// What to do about a failure, fitted to where it ran: locally, the accept command; on CI (where accepting is
    /// refused), that the command is for the user's own machine — and, when accepting was asked for here, that it was
    /// refused and how it was asked for.
    /// </summary>
    internal static string AcceptAdvice(SnapshotSettings settings)
    {
        if (!settings.OnCi || settings.AcceptOnCiForced) return "To accept the received file, run: " + settings.AcceptCommand;
        var advice = new System.Text.StringBuilder();
        if (settings.AcceptRequested)
            advice.Append($"Not accepted: {settings.AcceptRequestedBy ?? "accepting"} was requested, but this is a CI run (detected via {settings.CiSignal}), where snapshots are never accepted. ");
        advice.Append($"To accept, run '{settings.AcceptCommand}' on your own machine and commit the verified file")
            .Append($" (or set {SnapshotSettings.AcceptOnCiVariable}=1 on CI to force it).");
        return advice.ToString();
    }

    private static void DeleteIfExists(string path)
    {
        if (File.Exists(path)) File.Delete(path);
    }
}
