using System.Reflection;
using MechTests.Circuits;
using MechTests.Models;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MechTests.Xunit.Sdk;

/// <summary>Decides, at discovery, whether a missing model skips a test: not in strict mode.</summary>
internal static class MissingModel
{
    public static Assembly? AssemblyOf(ITestMethod method)
        => (method.TestClass.TestCollection.TestAssembly.Assembly as IReflectionAssemblyInfo)?.Assembly;

    public static BuildFacts Facts(ITestMethod method) => AssemblyOf(method) is { } a ? BuildFacts.From(a) : BuildFacts.None;

    public static string Reason(string path) => $"model not found: {path} (strict mode — MechTestsStrict=true or MECHTESTS_STRICT=1 — makes this a failure)";
}

/// <summary>Discovers <see cref="CircuitTheoryAttribute"/> rows; skips those whose model is missing unless strict.</summary>
/// <example><code>[CircuitTheory, CircuitFiles] public void Holds(CircuitCase c) { … }</code></example>
public sealed class CircuitTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    /// <inheritdoc />
    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod,
        IAttributeInfo theoryAttribute, object[] dataRow)
    {
        var missing = dataRow.OfType<CircuitCase>().FirstOrDefault(c => !c.ModelExists);
        if (missing != null && !MissingModel.Facts(testMethod).Strict)
            return [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(),
                testMethod, MissingModel.Reason(missing.ModelPath), dataRow)];
        return base.CreateTestCasesForDataRow(discoveryOptions, testMethod, theoryAttribute, dataRow);
    }
}

/// <summary>Discovers <see cref="CircuitFactAttribute"/> tests; skips them when their model is missing unless strict.</summary>
/// <example><code>[CircuitFact(Model = "models/pythia-70m")] public void Works() { … }</code></example>
public sealed class CircuitFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    /// <inheritdoc />
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var facts = MissingModel.Facts(testMethod);
        string? model = factAttribute.GetNamedArgument<string?>(nameof(CircuitFactAttribute.Model));
        string path = model == null ? EmbeddedModels.Stories260KPath
            : Path.IsPathRooted(model) ? model : Path.GetFullPath(Path.Combine(facts.ProjectDirectory ?? Directory.GetCurrentDirectory(), model));
        if (!File.Exists(path) && !Directory.Exists(path) && !facts.Strict)
            return new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(),
                testMethod, MissingModel.Reason(path));
        return base.CreateTestCase(discoveryOptions, testMethod, factAttribute);
    }
}
