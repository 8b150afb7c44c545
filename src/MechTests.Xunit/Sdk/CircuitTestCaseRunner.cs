using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MechTests.Xunit.Sdk;

/// <summary>Runs one circuit test: the preflight decides skip (reason), failure (exception, method not called) or run.</summary>
internal sealed class CircuitTestCaseRunner(IXunitTestCase testCase, string displayName, string skipReason, object[] constructorArguments,
    object[] testMethodArguments, IMessageBus messageBus, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    : XunitTestCaseRunner(testCase, displayName, skipReason, constructorArguments, testMethodArguments, messageBus, aggregator, cancellationTokenSource)
{
    protected override XunitTestRunner CreateTestRunner(ITest test, IMessageBus messageBus, Type testClass, object[] constructorArguments,
        MethodInfo testMethod, object[] testMethodArguments, string skipReason, IReadOnlyList<BeforeAfterTestAttribute> beforeAfterAttributes,
        ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        var circuit = TestCase as CircuitTestCase;
        Preflight.Apply(testClass, testMethodArguments, circuit?.GatesModel ?? false, circuit?.Model, ref skipReason, ref aggregator);
        return base.CreateTestRunner(test, messageBus, testClass, constructorArguments, testMethod, testMethodArguments, skipReason,
            beforeAfterAttributes, aggregator, cancellationTokenSource);
    }
}

/// <summary>Runs a theory enumerated at run time; each row goes through the same preflight.</summary>
internal sealed class CircuitTheoryTestCaseRunner(IXunitTestCase testCase, string displayName, string skipReason, object[] constructorArguments,
    IMessageSink diagnosticMessageSink, IMessageBus messageBus, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    : XunitTheoryTestCaseRunner(testCase, displayName, skipReason, constructorArguments, diagnosticMessageSink, messageBus, aggregator, cancellationTokenSource)
{
    protected override XunitTestRunner CreateTestRunner(ITest test, IMessageBus messageBus, Type testClass, object[] constructorArguments,
        MethodInfo testMethod, object[] testMethodArguments, string skipReason, IReadOnlyList<BeforeAfterTestAttribute> beforeAfterAttributes,
        ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        Preflight.Apply(testClass, testMethodArguments, false, null, ref skipReason, ref aggregator);
        return base.CreateTestRunner(test, messageBus, testClass, constructorArguments, testMethod, testMethodArguments, skipReason,
            beforeAfterAttributes, aggregator, cancellationTokenSource);
    }
}

internal static class Preflight
{
    /// <summary>
    /// Turns the preflight's verdict into what xUnit's test runner understands: a skip reason, or an exception in a
    /// child aggregator (the runner then reports the test failed without calling it). A row skipped by its data
    /// attribute stays skipped.
    /// </summary>
    public static void Apply(Type testClass, object?[]? arguments, bool gatesModel, string? model, ref string skipReason, ref ExceptionAggregator aggregator)
    {
        if (!string.IsNullOrEmpty(skipReason)) return;
        var (skip, failure) = CircuitPreflight.Check(testClass, arguments ?? [], gatesModel, model);
        if (failure != null)
        {
            aggregator = new ExceptionAggregator(aggregator);
            aggregator.Add(failure);
        }
        else if (skip != null) skipReason = skip;
    }
}
