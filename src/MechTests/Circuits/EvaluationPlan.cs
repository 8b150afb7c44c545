namespace MechTests.Circuits;

/// <summary>
/// Which measurements a circuit file carries beyond faithfulness: the MIB curves (CPR, CMD), completeness (with its
/// search) and minimality (with its δ). <see cref="FromMetrics"/> reads the plan back from a file's metric entries
/// and their conventions, so a re-derivation measures exactly what the verified file recorded.
/// </summary>
/// <example><code>
/// var plan = EvaluationPlan.Default with { MinimalityDelta = 0.02 };
/// var file = CircuitPipeline.Evaluate(runs, circuitFile, plan);
/// </code></example>
public sealed record EvaluationPlan
{
    /// <summary>Curves, completeness (16 random sets, 3 greedy steps, seed 0) and minimality at δ = 0.01.</summary>
    public static EvaluationPlan Default { get; } = new();

    /// <summary>Faithfulness only.</summary>
    public static EvaluationPlan FaithfulnessOnly { get; } = new() { Curves = false, Completeness = null, MinimalityDelta = null };

    /// <summary>Faithfulness curves on the MIB grid with CPR and CMD (edge scores needed; skipped for node-level circuits and for scoreless methods such as ACDC).</summary>
    public bool Curves { get; init; } = true;

    /// <summary>The completeness search, or null for none.</summary>
    public CompletenessOptions? Completeness { get; init; } = new();

    /// <summary>Minimality threshold δ on the faithfulness drop, or null for none.</summary>
    public double? MinimalityDelta { get; init; } = 0.01;

    /// <summary>The plan a circuit file's metrics were measured with.</summary>
    public static EvaluationPlan FromMetrics(CircuitFile file)
    {
        string where = file.SourcePath ?? "circuit";
        CompletenessOptions? completeness = null;
        if (file.Metrics.TryGetValue("completeness", out var c))
        {
            if (!c.Conventions.TryGetValue("search", out var search))
                throw new InvalidDataException($"{where}: metrics.completeness.conventions.search is missing; it says how the sets K were chosen.");
            try { completeness = CompletenessOptions.Parse(search); }
            catch (FormatException e) { throw new InvalidDataException($"{where}: metrics.completeness.conventions.search: {e.Message}", e); }
        }
        double? delta = null;
        if (file.Metrics.TryGetValue("minimality", out var m))
        {
            if (!m.Conventions.TryGetValue("delta", out var d) ||
                !double.TryParse(d, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double dv))
                throw new InvalidDataException($"{where}: metrics.minimality.conventions.delta is missing or not a number; it is the threshold δ.");
            delta = dv;
        }
        return new EvaluationPlan
        {
            Curves = file.Metrics.ContainsKey("cpr") || file.Metrics.ContainsKey("cmd"),
            Completeness = completeness,
            MinimalityDelta = delta,
        };
    }
}
