using MechTests.Circuits;

namespace MechTests.FluentAssertions;

/// <summary>
/// Assertions on a <see cref="Circuit"/>: <c>BeFaithful</c>, <c>BeComplete</c>, <c>BeMinimal</c> (see
/// <see cref="CircuitClaimAssertions{TSubject, TAssertions}"/>). Obtain with <c>circuit.Should()</c>.
/// </summary>
/// <example><code>
/// var runs = TaskRuns.Create(engine, task);
/// using (new AssertionScope())
/// {
///     circuit.Should().BeFaithful(runs, atLeast: 0.8);
///     circuit.Should().BeMinimal(runs, delta: 0.01);
/// }
/// </code></example>
public sealed class CircuitAssertions : CircuitClaimAssertions<Circuit, CircuitAssertions>
{
    /// <summary>Wraps a circuit (null makes every claim fail).</summary>
    /// <param name="subject">The circuit.</param>
    /// <example><code>
    /// var assertions = new CircuitAssertions(circuit);   // what circuit.Should() returns
    /// </code></example>
    public CircuitAssertions(Circuit subject) : base(subject)
    {
    }

    /// <inheritdoc />
    protected override string Identifier => "circuit";

    /// <inheritdoc />
    protected override Circuit? CircuitOf(Circuit? subject) => subject;
}
