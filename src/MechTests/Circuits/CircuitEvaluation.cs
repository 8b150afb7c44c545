using MechTests.Patching;

namespace MechTests.Circuits;

/// <summary>Faithfulness of one circuit, with the numbers it was computed from.</summary>
/// <param name="Value">f(C) = (L(C) − L(corrupted)) / (L(clean) − L(corrupted)); not clamped (NaN when clean = corrupted).</param>
/// <param name="CircuitMetric">L(C): mean metric of the circuit run.</param>
/// <param name="CleanMetric">L(clean): mean metric of the clean runs.</param>
/// <param name="CorruptedMetric">L(corrupted): mean metric of the corrupted runs.</param>
/// <param name="Edges">Edges in the circuit.</param>
/// <param name="Conventions">Ablation, level, positions, metric, what was patched.</param>
public sealed record FaithfulnessResult(double Value, double CircuitMetric, double CleanMetric, double CorruptedMetric, int Edges, EvaluationConventions Conventions);

/// <summary>
/// Evaluates circuits (docs/methods.md §8) with corrupted-patch ablation at all positions: the circuit run is one clean
/// pass per batch in which every edge outside the circuit carries its corrupted value
/// (<see cref="EdgePatching.MetricWithPatchedEdges"/>). Faithfulness, faithfulness curves with CPR/CMD,
/// completeness and minimality; each result records its conventions.
/// </summary>
/// <example><code>
/// var runs = TaskRuns.Create(engine, task);
/// var circuit = CircuitDiscovery.TopN(runs.Graph, EdgeAttribution.EapIg(runs).Scores, 50).Circuit;
/// var f = CircuitEvaluation.Faithfulness(runs, circuit);
/// Console.WriteLine($"f = {f.Value:F3} ({f.Conventions})");  // values outside [0,1] are reported as they are
/// </code></example>
public static partial class CircuitEvaluation
{
    /// <summary>L(C): the mean task metric of the circuit run (edges not in <paramref name="circuit"/> patched).</summary>
    public static double CircuitMetric(TaskRuns runs, Circuit circuit)
    {
        CheckGraph(runs, circuit);
        return EdgePatching.MetricWithPatchedEdges(runs, e => !circuit.Contains(e)).Average();
    }

    /// <summary>
    /// f(C) = (L(C) − L(corrupted)) / (L(clean) − L(corrupted)), NOT clamped: above 1 (the circuit overshoots) and
    /// below 0 (it pushes the other way) are real findings. The empty circuit gives 0, the full graph 1.
    /// </summary>
    public static FaithfulnessResult Faithfulness(TaskRuns runs, Circuit circuit)
    {
        double l = CircuitMetric(runs, circuit);
        return new FaithfulnessResult(Normalize(runs, l), l, runs.CleanMetric, runs.CorruptedMetric, circuit.Edges.Count,
            EvaluationConventions.For(runs.Task, circuit.Level, "complement"));
    }

    /// <summary>(L − L(corrupted)) / (L(clean) − L(corrupted)); NaN when the task does not separate clean from corrupted.</summary>
    public static double Normalize(TaskRuns runs, double metric)
    {
        double denom = runs.CleanMetric - runs.CorruptedMetric;
        return denom == 0 ? double.NaN : (metric - runs.CorruptedMetric) / denom;
    }

    internal static void CheckGraph(TaskRuns runs, Circuit circuit)
    {
        var g = circuit.Graph;
        if (g.Layers != runs.Graph.Layers || g.Heads != runs.Graph.Heads || g.ParallelAttnMlp != runs.Graph.ParallelAttnMlp)
            throw new ArgumentException($"The circuit is over a {g.Layers}-layer, {g.Heads}-head graph{(g.ParallelAttnMlp ? " (parallel attention/MLP)" : "")} but the model has {runs.Graph.Layers} layers and {runs.Graph.Heads} heads{(runs.Graph.ParallelAttnMlp ? " (parallel attention/MLP)" : "")}.");
    }
}
