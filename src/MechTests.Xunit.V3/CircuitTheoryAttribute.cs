using System.ComponentModel;
using System.Reflection;
using System.Runtime.CompilerServices;
using MechTests.Xunit.Sdk;
using Xunit;
using Xunit.v3;

namespace MechTests.Xunit;

/// <summary>
/// A theory over circuit files (<see cref="CircuitFilesAttribute"/>): one test per file, each checked just before its
/// body runs — a malformed circuit file fails its row with the parse error (<c>file(line,col): field: problem</c>), and
/// a missing model skips the row (xUnit v3's dynamic skip) with a reason naming the path (fails it under strict mode,
/// <c>MECHTESTS_STRICT=1</c> or <c>-p:MechTestsStrict=true</c>). Rows are re-checked at run time, so a model that
/// appears after discovery is used and a file fixed after discovery passes. Other data attributes
/// (<c>[InlineData]</c>, …) work as in a plain theory.
/// </summary>
/// <example><code>
/// public class Claims(ITestOutputHelper output)
/// {
///     [CircuitTheory, CircuitFiles("circuits")]
///     public void Holds(CircuitCase circuit) => circuit.Verify(output);
/// }
/// </code></example>
/// <param name="sourceFilePath">Filled in by the compiler (where the test is, for runners).</param>
/// <param name="sourceLineNumber">Filled in by the compiler.</param>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class CircuitTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
    : TheoryAttribute(sourceFilePath, sourceLineNumber), IBeforeAfterTestAttribute
{
    /// <summary>The check before each row's body (xUnit calls it): skip, fail or run.</summary>
    /// <example><code>
    /// // xUnit v3 calls Before(method, test) just before each row; a malformed circuit file fails the row here.
    /// </code></example>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public void Before(MethodInfo methodUnderTest, IXunitTest test) => DynamicSkip.Before(methodUnderTest, test, gatesModel: false, model: null);

    /// <summary>Nothing to undo after the body.</summary>
    /// <example><code>
    /// // xUnit v3 calls After(method, test); it does nothing.
    /// </code></example>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public void After(MethodInfo methodUnderTest, IXunitTest test) { }
}
