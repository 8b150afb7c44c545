using System.Runtime.CompilerServices;
using FluentAssertions;
using MechTests.Circuits;
using Xunit;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// MatchVerifiedSnapshot in a temp folder. Accepting and CI are set through explicit <see cref="SnapshotSettings"/>,
/// never the process environment (which parallel tests share).
/// </summary>
public sealed class SnapshotAssertionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mechtests-fa-").FullName;
    private static readonly SnapshotSettings Verifying = new() { AcceptCommand = "dotnet test -p:MechTestsAccept=true" };
    private static readonly SnapshotSettings Accepting = new() { AcceptRequested = true };

    public void Dispose() => Directory.Delete(_dir, true);

    private static IEnumerable<string> Planted => Models.Induction.CircuitEdges;

    /// <summary>The planted circuit with the direct edge to the logits swapped for a distractor's.</summary>
    private static IEnumerable<string> Swapped => Planted.Where(e => e != "a1.h2->logits").Append("a1.h1->logits");

    private string X => Path.Combine(_dir, "induction");

    private string[] FilesInDir() => Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void AMissingSnapshotFailsWithTheAcceptCommandAndWritesTheReceivedFile()
    {
        string m = Fails.With(() => Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X, Verifying));
        m.Should().Contain("to match its verified snapshot, but it did not.")
            .And.Contain("No verified snapshot yet: induction.verified.json does not exist.")
            .And.Contain($"Received: {X}.received.json")
            .And.Contain("To accept the received file, run: dotnet test -p:MechTestsAccept=true");
        FilesInDir().Should().Equal("induction.received.json");
        CircuitFile.Read(X + ".received.json").Circuit.Edges.Select(e => e.Name).Should().BeEquivalentTo(Planted);
    }

    [Fact]
    public void AnIdenticalCircuitMatchesAndLeavesTheVerifiedFileAlone()
    {
        Models.InductionFile(Planted).Write(X + ".verified.json");
        byte[] before = File.ReadAllBytes(X + ".verified.json");
        Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X, Verifying).Which.Status.Should().Be(SnapshotStatus.Matched);
        File.ReadAllBytes(X + ".verified.json").Should().Equal(before);
        FilesInDir().Should().Equal("induction.verified.json");
    }

    [Fact]
    public void AChangedEdgeSetFailsListingTheAddedAndRemovedEdges()
    {
        Models.InductionFile(Planted).Write(X + ".verified.json");
        string m = Fails.With(() => Models.InductionFile(Swapped).Should().MatchVerifiedSnapshot(X, Verifying));
        m.Should().Contain("Circuit snapshot mismatch for 'induction'")
            .And.Contain("Edges added, largest |score| first").And.Contain("  + a1.h1->logits")
            .And.Contain("Edges removed, largest |score| first").And.Contain("  - a1.h2->logits")
            .And.Contain("faithfulness").And.Contain("To accept the received file, run: dotnet test -p:MechTestsAccept=true");
        CircuitFile.Read(X + ".received.json").Circuit.Contains("a1.h1->logits").Should().BeTrue();
        CircuitFile.Read(X + ".verified.json").Circuit.Contains("a1.h2->logits").Should().BeTrue("a failed verification never touches the verified file");
    }

    [Fact]
    public void AcceptingWritesTheVerifiedFileAtomicallyAndThenItMatches()
    {
        Fails.With(() => Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X, Verifying)); // leaves a received file behind
        Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X, Accepting).Which.Status.Should().Be(SnapshotStatus.Created);
        FilesInDir().Should().Equal(["induction.verified.json"], "the received file is removed and no temporary file is left");
        Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X, Verifying).Which.Status.Should().Be(SnapshotStatus.Matched);

        var updated = Models.InductionFile(Swapped).Should().MatchVerifiedSnapshot(X, Accepting).Which;
        updated.Status.Should().Be(SnapshotStatus.Updated);
        updated.Diff!.AddedEdges.Select(e => e.Name).Should().Equal("a1.h1->logits");
        CircuitFile.Read(X + ".verified.json").Circuit.Contains("a1.h1->logits").Should().BeTrue();
        FilesInDir().Should().Equal("induction.verified.json");
    }

    [Fact]
    public void OnCiAcceptingIsRefusedUnlessForced()
    {
        var onCi = new SnapshotSettings { AcceptRequested = true, AcceptRequestedBy = "-p:MechTestsAccept=true", CiSignal = "GITHUB_ACTIONS" };
        string m = Fails.With(() => Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X, onCi));
        m.Should().Contain("Not accepted: -p:MechTestsAccept=true was requested, but this is a CI run (detected via GITHUB_ACTIONS)")
            .And.Contain("on your own machine").And.Contain("MECHTESTS_ACCEPT_ON_CI=1")
            .And.NotContain("To accept the received file, run:");
        File.Exists(X + ".verified.json").Should().BeFalse();

        Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X, onCi with { AcceptOnCiForced = true }).Which.Status.Should().Be(SnapshotStatus.Created);
    }

    [Fact]
    public void WithoutSettingsTheTestAssemblysBuildFactsAndTheEnvironmentDecide()
    {
        // This project bakes MechTests.ProjectDirectory into its assembly (as MechTests.MSBuild does), so the accept
        // command is the MSBuild one; whether it accepts depends on the environment the tests run in.
        var expected = BuildFacts.From(typeof(SnapshotAssertionTests).Assembly).SnapshotSettings();
        expected.AcceptCommand.Should().Be("dotnet test -p:MechTestsAccept=true");
        if (expected.Accepting)
        {
            Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X).Which.Status.Should().Be(SnapshotStatus.Created);
        }
        else
        {
            // Locally the command to run; on CI (where it would be refused) the command for the user's own machine.
            Fails.With(() => Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(X))
                .Should().Contain(expected.OnCi
                    ? "To accept, run 'dotnet test -p:MechTestsAccept=true' on your own machine"
                    : "To accept the received file, run: dotnet test -p:MechTestsAccept=true");
            File.Exists(X + ".verified.json").Should().BeFalse();
        }
    }

    [Fact]
    public void ARelativePathIsTakenFromTheCallingSourceFilesFolder()
    {
        string relative = Path.GetRelativePath(Path.GetDirectoryName(ThisFile())!, X);
        Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(relative, Accepting).Which.VerifiedPath.Should().Be(X + ".verified.json");
    }

    [Fact]
    public void WithoutAPathTheSnapshotNextToTheFileItWasReadFromIsUsed()
    {
        string json = Path.Combine(_dir, "claim.json");
        Models.InductionFile(Planted).Write(json);
        var claim = CircuitFile.Read(json);
        claim.Should().MatchVerifiedSnapshot(Accepting).Which.VerifiedPath.Should().Be(Path.Combine(_dir, "claim.verified.json"));
        claim.Should().MatchVerifiedSnapshot(Verifying).Which.Status.Should().Be(SnapshotStatus.Matched);
        Fails.With(() => Models.InductionFile(Planted).Should().MatchVerifiedSnapshot(Verifying)).Should().Contain("it was not read from a file");
        Fails.With(() => ((CircuitFile)null!).Should().MatchVerifiedSnapshot(X, Verifying)).Should().Contain("to match its verified snapshot, but found <null>.");
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
