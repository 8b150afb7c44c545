using System.Reflection;
using System.Runtime.CompilerServices;
using FluentAssertions;
using FluentAssertions.Execution;
using MechTests.Circuits;
using MechTests.Models;

namespace MechTests.FluentAssertions;

/// <summary>
/// Assertions on a <see cref="CircuitFile"/>: the circuit claims on its <see cref="CircuitFile.Circuit"/> (refused
/// on a <see cref="LoadedModel"/> whose identity differs from the file's) and <see cref="MatchVerifiedSnapshot"/>.
/// Obtain with <c>file.Should()</c>.
/// </summary>
/// <example><code>
/// var file = CircuitFile.Create(CircuitDiscovery.TopN(runs.Graph, scores, 20), ModelIdentity.From(m), TaskReference.Inline(task));
/// file.Should().BeFaithful(runs, atLeast: 0.7).And.MatchVerifiedSnapshot("name-copy-top20");
/// </code></example>
public sealed class CircuitFileAssertions : CircuitClaimAssertions<CircuitFile, CircuitFileAssertions>
{
    /// <summary>Wraps a circuit file (null makes every assertion fail).</summary>
    /// <param name="subject">The circuit file.</param>
    public CircuitFileAssertions(CircuitFile subject) : base(subject)
    {
    }

    /// <inheritdoc />
    protected override string Identifier => "circuit file";

    /// <inheritdoc />
    protected override Circuit? CircuitOf(CircuitFile? subject) => subject?.Circuit;

    /// <inheritdoc />
    protected override IReadOnlyList<string> ModelMismatches(LoadedModel model)
        => Subject is null ? [] : Subject.Model.Mismatches(model.Config, model.WeightsSha256);

    /// <summary>
    /// Verifies the file against its committed snapshot <c>X.verified.json</c> (<see cref="SnapshotVerifier"/>:
    /// membership exactly, numbers within the verified file's tolerances). A relative <paramref name="path"/> is
    /// taken from the folder of the calling source file, as Verify does; an absolute one is used as it is. On a
    /// mismatch <c>X.received.json</c> is written and the assertion fails with the semantic diff, both paths and
    /// the accept command. Accepting follows <paramref name="settings"/>, by default
    /// <c>BuildFacts.From(calling assembly).SnapshotSettings()</c>: only when asked
    /// (<c>MECHTESTS_ACCEPT=1</c> or <c>-p:MechTestsAccept=true</c>) and never on CI unless forced.
    /// </summary>
    /// <param name="path"><c>X</c> or <c>X.verified.json</c>, relative to the calling source file's folder, or absolute.</param>
    /// <param name="settings">Accept mode and CI detection; null reads the calling assembly's build facts and the environment.</param>
    /// <param name="because">A phrase explaining why the snapshot should match.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the calling source file.</param>
    /// <returns>The verification outcome (matched, created or updated) as <c>Which</c>; null when it failed.</returns>
    /// <example><code>
    /// [Fact]
    /// public void NameCopyCircuitIsStable()
    /// {
    ///     var file = CircuitFile.Create(CircuitDiscovery.Acdc(runs, 0.02), ModelIdentity.From(m), TaskReference.Inline(task));
    ///     file.Should().MatchVerifiedSnapshot("Snapshots/name-copy-acdc");   // Snapshots/name-copy-acdc.verified.json next to this file
    /// }
    /// </code></example>
    [CustomAssertion]
    [MethodImpl(MethodImplOptions.NoInlining)] // so GetCallingAssembly sees the test assembly
    public AndWhichConstraint<CircuitFileAssertions, SnapshotResult> MatchVerifiedSnapshot(string path, SnapshotSettings? settings = null, string because = "",
        [CallerFilePath] string callerFilePath = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var calling = Assembly.GetCallingAssembly();
        const string claim = "match its verified snapshot";
        if (!Execute.Assertion
                .BecauseOf(because)
                .ForCondition(Subject is not null)
                .FailWith("Expected {context:circuit file} to {0}{reason}, but found <null>.", new FailureText(claim)))
            return new(this, (SnapshotResult)null!);

        string? full = Path.IsPathRooted(path) ? path
            : Path.GetDirectoryName(callerFilePath) is { Length: > 0 } folder && Directory.Exists(folder) ? Path.Combine(folder, path)
            : null;
        if (!Execute.Assertion
                .BecauseOf(because)
                .ForCondition(full is not null)
                .FailWith("Expected {context:circuit file} to {0} at {1}{reason}, but the calling source file's folder {2} does not exist on this machine (tests built elsewhere?); pass an absolute path.",
                    new FailureText(claim), new FailureText(path), new FailureText(Path.GetDirectoryName(callerFilePath) ?? "(unknown)")))
            return new(this, (SnapshotResult)null!);

        var verifier = new SnapshotVerifier(settings ?? BuildFacts.From(calling).SnapshotSettings());
        try
        {
            return new(this, verifier.Verify(Subject!, full!));
        }
        catch (SnapshotMismatchException e)
        {
            Execute.Assertion
                .BecauseOf(because)
                .ForCondition(false)
                .FailWith("Expected {context:circuit file} to {0}{reason}, but it did not.\n{1}", new FailureText(claim), new FailureText(e.Message));
            return new(this, (SnapshotResult)null!);
        }
    }
}
