using MechTests.Patching;

namespace MechTests.GroundTruth;

/// <summary>Scores a circuit or a ranking against planted ground truth.</summary>
/// <example><code>
/// var runs = TaskRuns.Create(m.CreateEngine(), m.Task);
/// double f = CircuitScore.Faithfulness(runs, m.CircuitEdges);
/// var (p, r) = CircuitScore.PrecisionRecallAtK(EdgeAttribution.Eap(runs).Scores, m.CircuitEdges, m.CircuitEdges.Count);
/// </code></example>
public static class CircuitScore
{
    /// <summary>
    /// (L(C) − L(corrupted)) / (L(clean) − L(corrupted)), where L(C) is the mean metric of one pass in which every edge
    /// outside <paramref name="circuitEdges"/> carries its corrupted value.
    /// </summary>
    /// <example><code>
    /// double f = CircuitScore.Faithfulness(runs, new HashSet&lt;string&gt; { "input->a1.h0&lt;k&gt;", "a1.h0->logits" });
    /// </code></example>
    public static double Faithfulness(TaskRuns runs, IReadOnlySet<string> circuitEdges)
    {
        double lc = EdgePatching.MetricWithPatchedEdges(runs, e => !circuitEdges.Contains(e.Name)).Average();
        return (lc - runs.CorruptedMetric) / (runs.CleanMetric - runs.CorruptedMetric);
    }

    /// <summary>The <paramref name="k"/> names of largest |score|; ties broken by name (ordinal) so the result is stable.</summary>
    /// <example><code>
    /// var top = CircuitScore.TopK(EdgePatching.RunEach(runs).Effects, 3);
    /// </code></example>
    public static IReadOnlyList<string> TopK(IReadOnlyDictionary<string, double> scores, int k)
        => scores.OrderByDescending(kv => Math.Abs(kv.Value)).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(k).Select(kv => kv.Key).ToList();

    /// <summary>Precision and recall of the top-<paramref name="k"/> names by |score| against a true set.</summary>
    /// <example><code>
    /// var (p, r) = CircuitScore.PrecisionRecallAtK(EdgeAttribution.AtPStar(runs).Scores, m.CircuitEdges, m.CircuitEdges.Count);
    /// </code></example>
    public static (double Precision, double Recall) PrecisionRecallAtK(IReadOnlyDictionary<string, double> scores, IReadOnlySet<string> truth, int k)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"k must be positive (got {k}).");
        if (truth.Count == 0) throw new ArgumentException("The true set is empty.", nameof(truth));
        var top = TopK(scores, k);
        int hits = top.Count(truth.Contains);
        return (hits / (double)top.Count, hits / (double)truth.Count);
    }
}
