using MechTests.Attribution;
using MechTests.Circuits;

namespace MechTests.FluentAssertions;

/// <summary>
/// Entry points: <c>circuit.Should()</c>, <c>circuitFile.Should()</c>, <c>attribution.Should()</c>. Each registers
/// <see cref="MechTestsFormatters"/> (once).
/// </summary>
/// <example><code>
/// using MechTests.FluentAssertions;
///
/// var runs = TaskRuns.Create(engine, task);
/// circuit.Should().BeFaithful(runs, atLeast: 0.8).And.BeMinimal(runs, delta: 0.01);
/// EdgeAttribution.AtPStar(runs).Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.8, topKRecallAtLeast: 0.8);
/// </code></example>
public static class MechTestsAssertionExtensions
{
    /// <summary>Assertions on a circuit: faithful, complete, minimal.</summary>
    /// <param name="circuit">The circuit (may be null: the assertions then fail).</param>
    /// <example><code>
    /// circuit.Should().BeFaithful(engine, task, atLeast: 0.8);
    /// </code></example>
    public static CircuitAssertions Should(this Circuit circuit)
    {
        MechTestsFormatters.Register();
        return new CircuitAssertions(circuit);
    }

    /// <summary>Assertions on a discovered circuit (what <see cref="CircuitDiscovery"/> returns): the claims on its circuit.</summary>
    /// <param name="discovery">The discovery result (may be null: the assertions then fail).</param>
    /// <example><code>
    /// CircuitDiscovery.TopN(runs.Graph, EdgeAttribution.AtPStar(runs).Scores, 20).Should().BeFaithful(runs, atLeast: 0.5);
    /// </code></example>
    public static CircuitAssertions Should(this DiscoveryResult discovery) => (discovery?.Circuit!).Should();

    /// <summary>Assertions on a circuit file: the circuit claims on its circuit, and matching its verified snapshot.</summary>
    /// <param name="file">The circuit file (may be null: the assertions then fail).</param>
    /// <example><code>
    /// file.Should().MatchVerifiedSnapshot("name-copy-top20");
    /// </code></example>
    public static CircuitFileAssertions Should(this CircuitFile file)
    {
        MechTestsFormatters.Register();
        return new CircuitFileAssertions(file);
    }

    /// <summary>Assertions on an attribution: agrees with activation patching, misses no effect.</summary>
    /// <param name="attribution">The attribution (may be null: the assertions then fail).</param>
    /// <example><code>
    /// NodeAttribution.AtPStar(runs, nodes).Should().AgreeWithActivationPatching(runs, topK: 5);
    /// </code></example>
    public static AttributionAssertions Should(this AttributionResult attribution)
    {
        MechTestsFormatters.Register();
        return new AttributionAssertions(attribution);
    }
}
