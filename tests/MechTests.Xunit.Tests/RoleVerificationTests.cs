using MechTests.Circuits;
using Xunit;

namespace MechTests.Xunit.Tests;

/// <summary>
/// A [CircuitFiles] row checks the file's role claims through the shared verification path: each claim's line is in
/// the test output, and a claim that does not hold fails the row even when accepting. On stories260K's name-copy task
/// a2.h6 writes 1.38 of the clean logit difference (docs/semantics.md); no claim of 5 logits can hold.
/// </summary>
public class RoleVerificationTests
{
    [Fact]
    public void ARoleClaimIsMeasuredWrittenAndFailsTheRowWhenItDoesNotHold()
    {
        using var dir = new TempFolder();
        var empty = CircuitFile.Parse(Stories.EmptyJson);
        var holds = CircuitCase.ForFile(dir.Write("holds.json", empty.WithRoles(RoleClaim.PromotesAnswer("a2.h6", atLeast: 1)).ToJson()));
        var fails = CircuitCase.ForFile(dir.Write("fails.json", empty.WithRoles(RoleClaim.PromotesAnswer("a2.h6", atLeast: 5)).ToJson()));
        var accepting = new SnapshotVerifier(new SnapshotSettings { AcceptRequested = true });

        var output = new RecordingOutput();
        var result = holds.Verify(output, accepting);
        Assert.Equal(SnapshotStatus.Created, result.Snapshot.Status);
        Assert.Contains("role a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 1; holds); recorded nothing", output.Lines);

        output = new RecordingOutput();
        var e = Assert.Throws<SnapshotMismatchException>(() => fails.Verify(output, accepting));
        Assert.Equal(SnapshotFailure.RoleClaimFailed, e.Failure);
        Assert.Contains("role a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 5; does not hold); recorded nothing", output.Lines);
        Assert.Contains("a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 5; does not hold)", e.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, "fails.verified.json")));
    }
}
