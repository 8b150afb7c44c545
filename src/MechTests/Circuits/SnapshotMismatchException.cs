namespace MechTests.Circuits;

/// <summary>
/// Marker recognised by name by xUnit v3 (and other runners), so a snapshot mismatch is reported as an assertion
/// failure rather than an error.
/// </summary>
internal interface IAssertionException;

/// <summary>Why a snapshot failed.</summary>
public enum SnapshotFailure
{
    /// <summary>No verified file exists yet.</summary>
    Missing,
    /// <summary>The verified file differs beyond tolerance.</summary>
    Mismatch,
    /// <summary>The verified file cannot be read (malformed or from another schema).</summary>
    Unreadable,
    /// <summary>
    /// A role claim of the re-derived file does not hold (its measured value misses its threshold, or it was not
    /// measured); never accepted: the claim in the circuit file must change, or the model.
    /// </summary>
    RoleClaimFailed,
}

/// <summary>
/// A circuit snapshot did not verify. The message lists the semantic differences, where the verified and received
/// files are, and the command that accepts the received file.
/// </summary>
public sealed class SnapshotMismatchException : Exception, IAssertionException
{
    internal SnapshotMismatchException(SnapshotFailure failure, string verifiedPath, string receivedPath, CircuitDiffResult? diff, string message)
        : base(message)
    {
        Failure = failure;
        VerifiedPath = verifiedPath;
        ReceivedPath = receivedPath;
        Diff = diff;
    }

    /// <summary>What went wrong.</summary>
    public SnapshotFailure Failure { get; }

    /// <summary>Full path of the verified file.</summary>
    public string VerifiedPath { get; }

    /// <summary>Full path of the received file that was written.</summary>
    public string ReceivedPath { get; }

    /// <summary>The HTML report written next to the received file (<see cref="SnapshotSettings.ReportWriter"/>), or null.</summary>
    public string? ReportPath { get; init; }

    /// <summary>The structured differences (null when the verified file is missing or unreadable).</summary>
    public CircuitDiffResult? Diff { get; }
}
