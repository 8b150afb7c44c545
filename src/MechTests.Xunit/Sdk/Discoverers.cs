using Xunit.Abstractions;
using Xunit.Sdk;

namespace MechTests.Xunit.Sdk;

/// <summary>Discovers <see cref="CircuitTheoryAttribute"/> theories: each pre-enumerated row becomes a <see cref="CircuitTestCase"/>.</summary>
internal sealed class CircuitTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod,
        IAttributeInfo theoryAttribute, object[] dataRow)
        => [new CircuitTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(),
            testMethod, dataRow, gatesModel: false, model: null)];

    protected override IEnumerable<IXunitTestCase> CreateTestCasesForTheory(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod,
        IAttributeInfo theoryAttribute)
        => [new CircuitTheoryTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod)];
}

/// <summary>Discovers <see cref="CircuitFactAttribute"/> facts as <see cref="CircuitTestCase"/>s that need their model.</summary>
internal sealed class CircuitFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
        => new CircuitTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(),
            testMethod, null, gatesModel: true, model: factAttribute.GetNamedArgument<string?>(nameof(CircuitFactAttribute.Model)));
}
