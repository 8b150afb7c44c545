using System.ComponentModel;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MechTests.Xunit.Sdk;

/// <summary>
/// A test case (a <see cref="CircuitFactAttribute"/> fact or one pre-enumerated <see cref="CircuitTheoryAttribute"/>
/// row) that runs <see cref="CircuitPreflight"/> when it runs: skip, fail or run the method.
/// </summary>
internal sealed class CircuitTestCase : XunitTestCase
{
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by xUnit's deserializer.")]
    public CircuitTestCase() { }

    public CircuitTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay methodDisplay, TestMethodDisplayOptions methodDisplayOptions,
        ITestMethod testMethod, object?[]? testMethodArguments, bool gatesModel, string? model)
        : base(diagnosticMessageSink, methodDisplay, methodDisplayOptions, testMethod, testMethodArguments)
    {
        GatesModel = gatesModel;
        Model = model;
    }

    /// <summary>Whether the test needs <see cref="Model"/> (a circuit fact) beyond its circuit arguments' models.</summary>
    public bool GatesModel { get; private set; }

    /// <summary>The fact's model as written, or null for the default.</summary>
    public string? Model { get; private set; }

    public override Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus, object[] constructorArguments,
        ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
        => new CircuitTestCaseRunner(this, DisplayName, SkipReason, constructorArguments, TestMethodArguments, messageBus, aggregator, cancellationTokenSource).RunAsync();

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("MechTests.GatesModel", GatesModel);
        data.AddValue("MechTests.Model", Model);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        base.Deserialize(data);
        GatesModel = data.GetValue<bool>("MechTests.GatesModel");
        Model = data.GetValue<string?>("MechTests.Model");
    }
}

/// <summary>
/// A <see cref="CircuitTheoryAttribute"/> theory that could not be pre-enumerated (pre-enumeration turned off, or data
/// that cannot be serialised): its rows are found when it runs, and each row is checked like a pre-enumerated one.
/// </summary>
internal sealed class CircuitTheoryTestCase : XunitTheoryTestCase
{
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by xUnit's deserializer.")]
    public CircuitTheoryTestCase() { }

    public CircuitTheoryTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay methodDisplay, TestMethodDisplayOptions methodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, methodDisplay, methodDisplayOptions, testMethod) { }

    public override Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus, object[] constructorArguments,
        ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
        => new CircuitTheoryTestCaseRunner(this, DisplayName, SkipReason, constructorArguments, diagnosticMessageSink, messageBus, aggregator, cancellationTokenSource).RunAsync();
}
