using Xunit;
using Xunit.Sdk;

namespace MechTests.Xunit;

/// <summary>
/// A theory over circuit files (<see cref="CircuitFilesAttribute"/>): one test per file, each checked just before it
/// runs — a malformed circuit file fails its row with the parse error (<c>file(line,col): field: problem</c>), and a
/// missing model skips the row with a reason naming the path (fails it under strict mode, <c>MECHTESTS_STRICT=1</c> or
/// <c>-p:MechTestsStrict=true</c>). Rows are re-checked at run time, so a model that appears after discovery is used and
/// a file fixed after discovery passes. Other data attributes (<c>[InlineData]</c>, …) work as in a plain theory.
/// </summary>
/// <example><code>
/// public class Claims(ITestOutputHelper output)
/// {
///     [CircuitTheory, CircuitFiles("circuits")]
///     public void Holds(CircuitCase circuit) => circuit.Verify(output);
/// }
/// </code></example>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
[XunitTestCaseDiscoverer("MechTests.Xunit.Sdk.CircuitTheoryDiscoverer", "MechTests.Xunit")]
public sealed class CircuitTheoryAttribute : TheoryAttribute
{
}
