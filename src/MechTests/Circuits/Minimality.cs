using MechTests.Patching;

namespace MechTests.Circuits;

/// <summary>What removing one component did.</summary>
/// <param name="Component">Edge name (edge-level) or node name (node-level).</param>
/// <param name="FaithfulnessWithout">f(C \ {v}).</param>
/// <param name="Drop">f(C) − f(C \ {v}); negative when removing v raises faithfulness.</param>
public sealed record ComponentDrop(string Component, double FaithfulnessWithout, double Drop);

/// <summary>Minimality in its simple form: which components can go without losing at least δ of faithfulness.</summary>
public sealed class MinimalityResult
{
    internal MinimalityResult(double faithfulness, double delta, IReadOnlyList<ComponentDrop> drops, EvaluationConventions conventions)
    {
        Faithfulness = faithfulness;
        Delta = delta;
        Drops = drops;
        Conventions = conventions;
        // Graph order, not by drop: near-equal drops would otherwise swap places on another CPU and churn snapshots.
        NotNecessary = drops.Where(d => !(d.Drop >= delta)).ToList();
    }

    /// <summary>f(C).</summary>
    public double Faithfulness { get; }

    /// <summary>δ: the smallest drop that makes a component necessary.</summary>
    public double Delta { get; }

    /// <summary>One entry per component, in graph order.</summary>
    public IReadOnlyList<ComponentDrop> Drops { get; }

    /// <summary>Components whose removal lowers faithfulness by less than δ (NaN drops included), in graph order.</summary>
    public IReadOnlyList<ComponentDrop> NotNecessary { get; }

    /// <summary>Whether every component is necessary.</summary>
    public bool IsMinimal => NotNecessary.Count == 0;

    /// <summary>Evaluation conventions (patched = complement+v).</summary>
    public EvaluationConventions Conventions { get; }
}

public static partial class CircuitEvaluation
{
    /// <summary>
    /// For each component v of the circuit (each edge; each head/MLP of a node-level circuit, with its edges) the
    /// faithfulness drop f(C) − f(C \ {v}) when v alone is removed (no re-pruning, so exactly v is removed); those
    /// with drop &lt; <paramref name="delta"/> are reported as not necessary. One circuit run per component.
    /// </summary>
    /// <example><code>
    /// var min = CircuitEvaluation.Minimality(runs, circuit, delta: 0.01);
    /// foreach (var d in min.NotNecessary) Console.WriteLine($"{d.Component}: drop {d.Drop:F4}");
    /// </code></example>
    public static MinimalityResult Minimality(TaskRuns runs, Circuit circuit, double delta, IProgress<int>? progress = null)
    {
        CheckGraph(runs, circuit);
        double f = Faithfulness(runs, circuit).Value;
        var drops = new List<ComponentDrop>();
        foreach (var component in circuit.Components)
        {
            var knocked = KnockedOut(circuit, [component]);
            double without = Normalize(runs, EdgePatching.MetricWithPatchedEdges(runs, e => !circuit.Contains(e) || knocked(e)).Average());
            progress?.Report(1);
            drops.Add(new ComponentDrop(component, without, f - without));
        }
        return new MinimalityResult(f, delta, drops, EvaluationConventions.For(runs.Task, circuit.Level, "complement+v"));
    }
}
