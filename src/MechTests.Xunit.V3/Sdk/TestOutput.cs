using MechTests.Circuits;
using Xunit;

namespace MechTests.Xunit.Sdk;

/// <summary>Where the figures go on xUnit v3, and the files a failed snapshot attaches to its test.</summary>
internal static class TestOutput
{
    /// <summary><paramref name="output"/>, else the running test's output helper.</summary>
    /// <exception cref="ArgumentNullException">No output was given and no test is running.</exception>
    public static ITestOutputHelper OrCurrent(ITestOutputHelper? output)
        => output ?? TestContext.Current.TestOutputHelper
           ?? throw new ArgumentNullException(nameof(output), "No xUnit test is running here: pass an ITestOutputHelper for the figures.");

    /// <summary>
    /// Attaches the received circuit and its HTML report to the running test (v3's test attachments, which runners
    /// keep with the result); outside a test, or when the files are not there, attaches nothing.
    /// </summary>
    public static void Attach(SnapshotMismatchException e)
    {
        if (TestContext.Current.Test is null) return;
        if (File.Exists(e.ReceivedPath))
            TestContext.Current.AddAttachment(Path.GetFileName(e.ReceivedPath), File.ReadAllText(e.ReceivedPath), replaceExistingValue: true);
        if (e.ReportPath is { } report && File.Exists(report))
            TestContext.Current.AddAttachment(Path.GetFileName(report), File.ReadAllBytes(report), replaceExistingValue: true, mediaType: "text/html");
    }
}
