using MechTests.Patching;

namespace MechTests.Circuits;

/// <summary>Which x-axis the CPR/CMD trapezoids integrate over.</summary>
public enum CurveAxis
{
    /// <summary><c>nominal</c>: the requested fraction of edges, k/100 (the MIB grid itself).</summary>
    Nominal,
    /// <summary><c>actual</c>: edges left after pruning ÷ edges in the graph (what MIB's own scoring script divides by).</summary>
    Actual,
}

/// <summary>One point of a faithfulness curve.</summary>
/// <param name="Percent">Requested circuit size, % of the graph's edges (e.g. 0.1, 0.2, … 100).</param>
/// <param name="RequestedEdges">round(percent/100 · edges), half away from zero.</param>
/// <param name="Edges">Edges left after pruning.</param>
/// <param name="Faithfulness">f of that circuit (not clamped).</param>
public sealed record CurvePoint(double Percent, int RequestedEdges, int Edges, double Faithfulness);

/// <summary>A faithfulness curve with its areas. CPR = area under f (higher is better); CMD = area of |1 − f| (lower is better).</summary>
public sealed class CurveResult
{
    internal CurveResult(IReadOnlyList<CurvePoint> points, ScoreRanking ranking, CurveAxis axis, int totalEdges, bool pruned, EvaluationConventions conventions)
    {
        Points = points;
        Ranking = ranking;
        Axis = axis;
        TotalEdges = totalEdges;
        Pruned = pruned;
        Conventions = conventions;
        X = points.Select(p => axis == CurveAxis.Nominal ? p.Percent / 100 : (double)p.Edges / totalEdges).ToList();
        var f = points.Select(p => p.Faithfulness).ToList();
        Cpr = CircuitEvaluation.Cpr(X, f);
        Cmd = CircuitEvaluation.Cmd(X, f);
    }

    /// <summary>The points, in grid order.</summary>
    public IReadOnlyList<CurvePoint> Points { get; }

    /// <summary>How edges were ranked to build the circuits (MIB: signed for CPR, absolute for CMD).</summary>
    public ScoreRanking Ranking { get; }

    /// <summary>The x-axis of the areas.</summary>
    public CurveAxis Axis { get; }

    /// <summary>The x value of each point on <see cref="Axis"/>.</summary>
    public IReadOnlyList<double> X { get; }

    /// <summary>Edges in the whole graph.</summary>
    public int TotalEdges { get; }

    /// <summary>Whether each top-k circuit was pruned before evaluation (MIB prunes).</summary>
    public bool Pruned { get; }

    /// <summary>Trapezoid area under f over <see cref="X"/> (higher is better).</summary>
    public double Cpr { get; }

    /// <summary>Trapezoid area of |1 − f| over <see cref="X"/> (lower is better).</summary>
    public double Cmd { get; }

    /// <summary>Evaluation conventions (patched = complement).</summary>
    public EvaluationConventions Conventions { get; }
}

public static partial class CircuitEvaluation
{
    /// <summary>The MIB grid of circuit sizes, in % of edges: 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100.</summary>
    public static IReadOnlyList<double> MibPercents { get; } = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];

    /// <summary>
    /// f at each circuit size of <paramref name="percents"/> (default <see cref="MibPercents"/>): the top
    /// round(k/100 · E) edges by <paramref name="ranking"/> (edges without a score rank last), pruned when
    /// <paramref name="prune"/>. Circuits that come out identical are evaluated once.
    /// </summary>
    /// <example><code>
    /// var scores = EdgeAttribution.EapIg(runs).Scores;
    /// var cpr = CircuitEvaluation.FaithfulnessCurve(runs, scores, ScoreRanking.Signed).Cpr;    // MIB: CPR uses signed
    /// var cmd = CircuitEvaluation.FaithfulnessCurve(runs, scores, ScoreRanking.Absolute).Cmd;  // MIB: CMD uses absolute
    /// </code></example>
    public static CurveResult FaithfulnessCurve(TaskRuns runs, IReadOnlyDictionary<string, double> scores, ScoreRanking ranking,
        IReadOnlyList<double>? percents = null, CurveAxis axis = CurveAxis.Nominal, bool prune = true, IProgress<int>? progress = null)
    {
        percents ??= MibPercents;
        var graph = runs.Graph;
        CircuitDiscovery.ScoredEdges(graph, scores); // rejects unknown names
        int total = graph.Edges.Count;
        var order = ranking.Order(graph.Edges.Select(e => scores.TryGetValue(e.Name, out double s) ? s : double.NaN).ToArray());
        var cache = new Dictionary<string, double>(StringComparer.Ordinal);
        var points = new List<CurvePoint>();
        foreach (double p in percents)
        {
            if (!(p >= 0 && p <= 100)) throw new ArgumentOutOfRangeException(nameof(percents), $"curve size {p}% is outside 0..100.");
            int n = (int)Math.Round(p / 100 * total, MidpointRounding.AwayFromZero);
            var circuit = Circuit.FromEdges(graph, order.Take(n).Select(i => graph.Edges[i]));
            if (prune) circuit = circuit.Prune();
            string key = string.Join(',', circuit.Edges.Select(e => e.Index));
            if (!cache.TryGetValue(key, out double f))
            {
                f = Normalize(runs, EdgePatching.MetricWithPatchedEdges(runs, e => !circuit.Contains(e)).Average());
                cache[key] = f;
            }
            progress?.Report(1);
            points.Add(new CurvePoint(p, n, circuit.Edges.Count, f));
        }
        return new CurveResult(points, ranking, axis, total, prune, EvaluationConventions.For(runs.Task, CircuitLevel.Edge, "complement"));
    }

    /// <summary>Both MIB curves: CPR from the signed ranking and CMD from the absolute ranking.</summary>
    public static (CurveResult CprCurve, CurveResult CmdCurve) MibCurves(TaskRuns runs, IReadOnlyDictionary<string, double> scores,
        CurveAxis axis = CurveAxis.Nominal, IProgress<int>? progress = null)
        => (FaithfulnessCurve(runs, scores, ScoreRanking.Signed, null, axis, true, progress),
            FaithfulnessCurve(runs, scores, ScoreRanking.Absolute, null, axis, true, progress));

    /// <summary>Trapezoid rule: Σ (x[i+1] − x[i]) · (y[i] + y[i+1]) / 2 over consecutive points (x must not decrease).</summary>
    public static double Trapezoid(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} x values but {y.Count} y values.");
        double area = 0;
        for (int i = 0; i + 1 < x.Count; i++)
        {
            if (x[i + 1] < x[i]) throw new ArgumentException($"x decreases at index {i + 1} ({x[i]} → {x[i + 1]}); curves must be ordered by size.");
            area += (x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2;
        }
        return area;
    }

    /// <summary>CPR: trapezoid area under the faithfulness curve f(x) (higher is better).</summary>
    public static double Cpr(IReadOnlyList<double> x, IReadOnlyList<double> faithfulness) => Trapezoid(x, faithfulness);

    /// <summary>CMD: trapezoid area of |1 − f(x)| (lower is better).</summary>
    public static double Cmd(IReadOnlyList<double> x, IReadOnlyList<double> faithfulness)
        => Trapezoid(x, faithfulness.Select(f => Math.Abs(1 - f)).ToList());
}
