using System.Collections.Concurrent;
using Xunit;
using Xunit.Sdk;
using Xunit.v3;

namespace MechTests.Xunit.V3.Tests;

/// <summary>One test as xUnit v3 reported it.</summary>
internal sealed record RunResult(string DisplayName, string Outcome, string? Message, string Output, string? ExceptionType = null,
    FailureCause? Cause = null, IReadOnlyDictionary<string, TestAttachment>? Attachments = null)
{
    public override string ToString() => $"{Outcome} {DisplayName}: {Message}";
}

/// <summary>
/// Runs one (non-public, so the outer run ignores it) test class through xUnit v3's own machinery in this process:
/// <see cref="XunitTestFramework"/>'s discoverer finds its test cases, each is serialised and deserialised as it is
/// between Test Explorer's discovery and run, and its executor runs them (with the assembly fixtures) and reports
/// passed/failed/skipped messages.
/// </summary>
internal static class InProcessRunner
{
    public static IReadOnlyList<RunResult> Run(Type testClass, bool preEnumerateTheories = true)
        => Task.Run(() => RunAsync(testClass, preEnumerateTheories)).GetAwaiter().GetResult();

    private static async Task<IReadOnlyList<RunResult>> RunAsync(Type testClass, bool preEnumerateTheories)
    {
        // A fresh context for the nested run (this runs inside the outer test's context).
        TestContext.SetForInitialization(null, diagnosticMessages: false, internalDiagnosticMessages: false);
        await using var framework = new XunitTestFramework();
        var assembly = testClass.Assembly;
        var discoveryOptions = new Options();
        discoveryOptions.SetValue("xunit.discovery.PreEnumerateTheories", preEnumerateTheories);
        var found = new List<ITestCase>();
        await framework.GetDiscoverer(assembly).Find(tc => { found.Add(tc); return new(true); }, discoveryOptions, [testClass]);
        var cases = found.Select(tc => SerializationHelper.Instance.Deserialize<ITestCase>(SerializationHelper.Instance.Serialize(tc))!).ToList();
        var sink = new Sink();
        var executionOptions = new Options();
        executionOptions.SetValue("xunit.execution.DisableParallelization", true);
        await framework.GetExecutor(assembly).RunTestCases(cases, sink, executionOptions, CancellationToken.None);
        return sink.Results.OrderBy(r => r.DisplayName, StringComparer.Ordinal).ToList();
    }

    private sealed class Sink : IMessageSink
    {
        private readonly ConcurrentDictionary<string, string> _names = new();
        private readonly ConcurrentDictionary<string, RunResult> _results = new();

        public IEnumerable<RunResult> Results => _results.Values;

        public bool OnMessage(IMessageSinkMessage message)
        {
            switch (message)
            {
                case ITestStarting s: _names[s.TestUniqueID] = s.TestDisplayName; break;
                case ITestPassed p: _results[p.TestUniqueID] = new RunResult(Name(p), "passed", null, p.Output); break;
                case ITestFailed f:
                    _results[f.TestUniqueID] = new RunResult(Name(f), "failed", string.Join("\n", f.Messages), f.Output, f.ExceptionTypes.FirstOrDefault(), f.Cause);
                    break;
                case ITestSkipped s: _results[s.TestUniqueID] = new RunResult(Name(s), "skipped", s.Reason, s.Output); break;
                case ITestFinished done when _results.TryGetValue(done.TestUniqueID, out var r):
                    _results[done.TestUniqueID] = r with { Attachments = done.Attachments };
                    break;
            }
            return true;
        }

        private string Name(ITestMessage m) => _names.TryGetValue(m.TestUniqueID, out var n) ? n : m.TestUniqueID;
    }

    private sealed class Options : ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
    {
        private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);
        public TValue? GetValue<TValue>(string name) => _values.TryGetValue(name, out var v) && v is TValue t ? t : default;
        public void SetValue<TValue>(string name, TValue value) => _values[name] = value;
        public string ToJson() => "{}";
    }
}
