using MechTests.Circuits;
using MechTests.Tests.Circuits;
using Xunit;

namespace MechTests.Tests.Reliability;

/// <summary>
/// Issue 19, defect 4 in the library: a received file that cannot be written (read-only folder, full disk) ended the
/// check in an IOException that hid what differed. The mismatch is still reported, with its diff, and says so.
/// </summary>
public class SnapshotIoTests
{
    private static CircuitFile File(int n)
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var d = CircuitDiscovery.TopN(runs.Graph, CircuitFixtures.Gpt2EdgeEffects, n);
        return CircuitFile.Create(d, CircuitFixtures.Identity(runs), TaskReference.Inline(runs.Task));
    }

    /// <summary>
    /// Concurrent writers of one file and a reader beside them (docs/reliability.md "Kill, full disk, concurrent
    /// runs"): the reader only ever sees one writer's complete content, and no temporary file is left.
    /// </summary>
    [Fact]
    public async Task ConcurrentWritersNeverShowAReaderATornFile()
    {
        using var tmp = CircuitFixtures.Temp();
        string path = tmp.File("shared.json");
        string a = new('a', 300_000), b = new('b', 200_000);
        AtomicFile.WriteAllText(path, a);
        using var stop = new CancellationTokenSource();
        using var firstRead = new ManualResetEventSlim();
        int reads = 0;
        // Its own thread, not the pool: on a 2-core CI machine busy with other test classes, a pooled reader was not
        // scheduled before the writers finished, and the test checked nothing.
        var reader = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                string seen = System.IO.File.ReadAllText(path);
                Assert.True(seen == a || seen == b, $"torn read of {seen.Length} characters");
                Interlocked.Increment(ref reads);
                firstRead.Set();
            }
        }, TaskCreationOptions.LongRunning);
        // A reader that failed on its first read is reported by the await below, not as a reader that never started.
        Assert.True(SpinWait.SpinUntil(() => firstRead.IsSet || reader.IsCompleted, TimeSpan.FromSeconds(60)), "the reader did not start within 60 s");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        Parallel.For(0, 2, w =>
        {
            // At least 60 writes each, and on until the reader has overlapped them 20 times (or the reader failed).
            for (int i = 0; i < 60 || (Volatile.Read(ref reads) < 20 && !reader.IsCompleted && DateTime.UtcNow < deadline); i++)
                AtomicFile.WriteAllText(path, w == 0 ? a : b);
        });
        stop.Cancel();
        await reader;
        Assert.True(reads >= 20, $"the reader ran only {reads} times beside the writers");
        Assert.Empty(Directory.GetFiles(tmp.Path, ".*.tmp"));
    }

    [Fact]
    public void AReceivedFileThatCannotBeWrittenStillReportsTheMismatch()
    {
        using var tmp = CircuitFixtures.Temp();
        new SnapshotVerifier(new SnapshotSettings { AcceptRequested = true }).Verify(File(25), tmp.File("c"));
        // A folder where the received file goes: the rename onto it fails as on a read-only or full disk.
        Directory.CreateDirectory(tmp.File("c.received.json"));
        var e = Assert.Throws<SnapshotMismatchException>(() => new SnapshotVerifier(new SnapshotSettings()).Verify(File(20), tmp.File("c")));
        Assert.Equal(SnapshotFailure.Mismatch, e.Failure);
        Assert.Contains("Edges removed", e.Message);
        Assert.Contains("(received file not written: ", e.Message);
        Assert.Contains($"Received: {tmp.File("c.received.json")} (not written)", e.Message);
        Assert.Empty(Directory.GetFiles(tmp.Path, ".*.tmp")); // the temporary file went with the failure
    }
}
