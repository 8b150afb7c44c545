using Xunit;
using Xunit.Sdk;

namespace MechTests.Xunit;

/// <summary>
/// A theory over circuit files: like <see cref="TheoryAttribute"/>, except that a row whose model file is missing is
/// reported as skipped with the path in the reason — or, in strict mode (<c>$(MechTestsStrict)</c>,
/// <c>MECHTESTS_STRICT=1</c>; what CI gating wants), runs and fails with the missing path.
/// </summary>
/// <example><code>
/// public class Claims(ITestOutputHelper output)
/// {
///     [CircuitTheory]
///     [CircuitFiles("circuits")]
///     public void Holds(CircuitCase circuit) => circuit.Verify(output);
/// }
/// </code></example>
[XunitTestCaseDiscoverer("MechTests.Xunit.Sdk.CircuitTheoryDiscoverer", "MechTests.Xunit")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class CircuitTheoryAttribute : TheoryAttribute;

/// <summary>
/// A fact that needs a model: skipped with the path in the reason when <see cref="Model"/> is missing, failed instead
/// in strict mode. Without <see cref="Model"/> it needs the embedded stories260K.
/// </summary>
/// <example><code>
/// [CircuitFact(Model = "models/pythia-70m")]
/// public void InductionHeadsExist() { var model = ModelCache.Get("models/pythia-70m"); … }
/// </code></example>
[XunitTestCaseDiscoverer("MechTests.Xunit.Sdk.CircuitFactDiscoverer", "MechTests.Xunit")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class CircuitFactAttribute : FactAttribute
{
    /// <summary>The model file or folder the test needs, relative to the project folder; null: the embedded model.</summary>
    public string? Model { get; set; }
}
