using Xunit;
using Xunit.Sdk;

namespace MechTests.Xunit;

/// <summary>
/// A fact that needs a model: skipped, with a reason naming the path, when the model (<see cref="Model"/>, else
/// <c>MECHTESTS_MODEL</c>, else the embedded stories260K; see <see cref="ModelLocator"/>) is not there, and failed
/// instead under strict mode (<c>MECHTESTS_STRICT=1</c>, <c>-p:MechTestsStrict=true</c>). The check runs when the test
/// runs, not at discovery. For a test per circuit file use <see cref="CircuitTheoryAttribute"/> with
/// <see cref="CircuitFilesAttribute"/>.
/// </summary>
/// <example><code>
/// public class Gpt2Tests(ModelFixture models) : IClassFixture&lt;ModelFixture&gt;
/// {
///     [CircuitFact(Model = "%MODELS%/gpt2")]
///     public void HeadL9H9MovesTheName()
///     {
///         var gpt2 = models.Get("%MODELS%/gpt2");
///         Assert.Equal(12, gpt2.Config.NLayers);
///     }
/// }
/// </code></example>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
[XunitTestCaseDiscoverer("MechTests.Xunit.Sdk.CircuitFactDiscoverer", "MechTests.Xunit")]
public sealed class CircuitFactAttribute : FactAttribute
{
    /// <summary>The model the fact needs (a file or Hugging Face folder; <c>%NAME%</c> expanded); null for the default.</summary>
    /// <example><code>
    /// [CircuitFact(Model = "models/gpt2")]
    /// </code></example>
    public string? Model { get; set; }
}
