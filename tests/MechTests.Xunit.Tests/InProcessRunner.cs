using System.Collections.Concurrent;
using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MechTests.Xunit.Tests;

/// <summary>One test as xUnit reported it.</summary>
internal sealed record RunResult(string DisplayName, string Outcome, string? Message, string Output, string? ExceptionType = null)
{
    public override string ToString() => $"{Outcome} {DisplayName}: {Message}";
}

/// <summary>
/// Runs one (non-public, so the outer run ignores it) test class through xUnit v2's own machinery in this process:
/// <see cref="XunitTestFrameworkDiscoverer"/> finds its test cases (which looks up our discoverers by the names in
/// [XunitTestCaseDiscoverer]), each case is serialised and deserialised as it is between Test Explorer's discovery and
/// run, and <see cref="XunitTestFrameworkExecutor"/> runs them and reports passed/failed/skipped messages.
/// </summary>
internal static class InProcessRunner
{
    public static IReadOnlyList<RunResult> Run(Type testClass, bool preEnumerateTheories = true)
    {
        var assembly = testClass.Assembly;
        var diagnostics = new Sink();
        var sources = new NoSources();
        var discoveryOptions = new Options();
        discoveryOptions.SetValue("xunit.discovery.PreEnumerateTheories", preEnumerateTheories);
        List<string> serialized;
        using (var discoverer = new XunitTestFrameworkDiscoverer(Reflector.Wrap(assembly), sources, diagnostics))
        {
            var found = new Sink();
            discoverer.Find(testClass.FullName!, false, found, discoveryOptions);
            if (!found.Finished.Wait(TimeSpan.FromSeconds(600))) throw new TimeoutException("discovery did not finish in 600 s");
            serialized = found.TestCases.Select(discoverer.Serialize).ToList();
        }
        using var executor = new XunitTestFrameworkExecutor(assembly.GetName(), sources, diagnostics);
        var cases = serialized.Select(executor.Deserialize).ToList();
        var run = new Sink();
        var executionOptions = new Options();
        executionOptions.SetValue("xunit.execution.DisableParallelization", true);
        executor.RunTests(cases, run, executionOptions);
        if (!run.Finished.Wait(TimeSpan.FromSeconds(600))) throw new TimeoutException("execution did not finish in 600 s");
        return run.Results.OrderBy(r => r.DisplayName, StringComparer.Ordinal).ToList();
    }

    private sealed class Sink : global::Xunit.LongLivedMarshalByRefObject, IMessageSink
    {
        public ManualResetEventSlim Finished { get; } = new();
        public ConcurrentQueue<ITestCase> TestCasesQueue { get; } = new();
        public List<ITestCase> TestCases => TestCasesQueue.ToList();
        public ConcurrentQueue<RunResult> ResultsQueue { get; } = new();
        public List<RunResult> Results => ResultsQueue.ToList();

        public bool OnMessage(IMessageSinkMessage message)
        {
            switch (message)
            {
                case ITestCaseDiscoveryMessage d: TestCasesQueue.Enqueue(d.TestCase); break;
                case IDiscoveryCompleteMessage: Finished.Set(); break;
                case ITestPassed p: ResultsQueue.Enqueue(new RunResult(p.Test.DisplayName, "passed", null, p.Output)); break;
                case ITestFailed f: ResultsQueue.Enqueue(new RunResult(f.Test.DisplayName, "failed", string.Join("\n", f.Messages), f.Output, f.ExceptionTypes.FirstOrDefault())); break;
                case ITestSkipped s: ResultsQueue.Enqueue(new RunResult(s.Test.DisplayName, "skipped", s.Reason, s.Output)); break;
                case ITestAssemblyFinished: Finished.Set(); break;
            }
            return true;
        }
    }

    private sealed class NoSources : global::Xunit.LongLivedMarshalByRefObject, ISourceInformationProvider
    {
        public ISourceInformation? GetSourceInformation(ITestCase testCase) => null;
        public void Dispose() { }
    }

    private sealed class Options : ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
    {
        private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);
        public TValue GetValue<TValue>(string name) => _values.TryGetValue(name, out var v) && v is TValue t ? t : default!;
        public void SetValue<TValue>(string name, TValue value) => _values[name] = value;
    }
}
