using System.ComponentModel;
using System.Reflection;
using System.Runtime.CompilerServices;
using MechTests.Xunit.Sdk;
using Xunit;
using Xunit.v3;

namespace MechTests.Xunit;

/// <summary>
/// A fact that needs a model: skipped (xUnit v3's dynamic skip), with a reason naming the path, when the model
/// (<see cref="Model"/>, else <c>MECHTESTS_MODEL</c>, else the embedded stories260K; see <see cref="ModelLocator"/>) is
/// not there, and failed instead under strict mode (<c>MECHTESTS_STRICT=1</c>, <c>-p:MechTestsStrict=true</c>). The
/// check runs just before the test body, not at discovery. For a test per circuit file use
/// <see cref="CircuitTheoryAttribute"/> with <see cref="CircuitFilesAttribute"/>.
/// </summary>
/// <example><code>
/// public class Gpt2Tests(ModelFixture models)      // an assembly fixture: no IClassFixture needed
/// {
///     [CircuitFact(Model = "%MODELS%/gpt2")]
///     public void HeadL9H9MovesTheName()
///     {
///         var gpt2 = models.Get("%MODELS%/gpt2");
///         Assert.Equal(12, gpt2.Config.NLayers);
///     }
/// }
/// </code></example>
/// <param name="sourceFilePath">Filled in by the compiler (where the test is, for runners).</param>
/// <param name="sourceLineNumber">Filled in by the compiler.</param>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class CircuitFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
    : FactAttribute(sourceFilePath, sourceLineNumber), IBeforeAfterTestAttribute
{
    /// <summary>The model the fact needs (a file or Hugging Face folder; <c>%NAME%</c> expanded); null for the default.</summary>
    /// <example><code>
    /// [CircuitFact(Model = "models/gpt2")]
    /// </code></example>
    public string? Model { get; set; }

    /// <summary>The check before the body (xUnit calls it): skip, fail or run.</summary>
    /// <example><code>
    /// // xUnit v3 calls Before(method, test) just before the test body; a missing model skips the test here.
    /// </code></example>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public void Before(MethodInfo methodUnderTest, IXunitTest test) => DynamicSkip.Before(methodUnderTest, test, gatesModel: true, Model);

    /// <summary>Nothing to undo after the body.</summary>
    /// <example><code>
    /// // xUnit v3 calls After(method, test); it does nothing.
    /// </code></example>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public void After(MethodInfo methodUnderTest, IXunitTest test) { }
}
