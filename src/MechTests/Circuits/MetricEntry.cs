using System.Text.Json.Nodes;

namespace MechTests.Circuits;

/// <summary>Units of a metric entry; they pick the tolerance a verification uses.</summary>
public static class MetricUnits
{
    /// <summary><c>normalized</c>: faithfulness-like (1 = the model); compared with the faithfulness tolerance.</summary>
    public const string Normalized = "normalized";

    /// <summary><c>metric</c>: task-metric units (e.g. logits); compared with the metric tolerance.</summary>
    public const string Metric = "metric";

    /// <summary><c>count</c>: a number of things; its value must match exactly (its details use the faithfulness tolerance).</summary>
    public const string Count = "count";

    /// <summary>All units.</summary>
    public static IReadOnlyList<string> All { get; } = [Normalized, Metric, Count];
}

/// <summary>
/// One measured number in a circuit file with its unit, the conventions it was measured under, and optional
/// free-form details (curve points, the worst completeness set, …) that verification also compares.
/// </summary>
/// <param name="Value">The headline value (NaN is stored as null).</param>
/// <param name="Unit">See <see cref="MetricUnits"/>.</param>
/// <param name="Conventions">E.g. ablation, level, positions, metric, patched, ranking.</param>
/// <param name="Details">Extra structured data, or null.</param>
public sealed record MetricEntry(double Value, string Unit, IReadOnlyDictionary<string, string> Conventions, JsonObject? Details = null);

/// <summary>Turns evaluation results into the metric entries of a circuit file.</summary>
/// <example><code>
/// var file = CircuitFile.Create(discovery, ModelIdentity.From(model), TaskReference.Inline(task));
/// foreach (var (name, entry) in MetricEntries.From(CircuitEvaluation.Faithfulness(runs, discovery.Circuit)))
///     file.Metrics[name] = entry;
/// </code></example>
public static class MetricEntries
{
    /// <summary><c>clean</c>, <c>corrupted</c>, <c>circuit</c> (metric units) and <c>faithfulness</c> (normalised).</summary>
    public static IEnumerable<KeyValuePair<string, MetricEntry>> From(FaithfulnessResult r)
    {
        var c = r.Conventions.ToDictionary();
        yield return new("circuit", new MetricEntry(r.CircuitMetric, MetricUnits.Metric, c));
        yield return new("clean", new MetricEntry(r.CleanMetric, MetricUnits.Metric, c));
        yield return new("corrupted", new MetricEntry(r.CorruptedMetric, MetricUnits.Metric, c));
        yield return new("faithfulness", new MetricEntry(r.Value, MetricUnits.Normalized, c));
    }

    /// <summary>The CPR entry of a curve (<c>cpr</c>), with its points; MIB builds it from the signed ranking.</summary>
    public static KeyValuePair<string, MetricEntry> Cpr(CurveResult curve) => new("cpr", CurveEntry(curve, curve.Cpr));

    /// <summary>The CMD entry of a curve (<c>cmd</c>), with its points; MIB builds it from the absolute ranking.</summary>
    public static KeyValuePair<string, MetricEntry> Cmd(CurveResult curve) => new("cmd", CurveEntry(curve, curve.Cmd));

    /// <summary><c>completeness</c>: the worst incompleteness (metric units), the set K that produced it and how many sets were tried.</summary>
    public static KeyValuePair<string, MetricEntry> From(CompletenessResult r)
    {
        var c = r.Conventions.ToDictionary();
        c["search"] = r.Options.Describe();
        var details = new JsonObject
        {
            ["normalized"] = r.WorstNormalized,
            ["setsTried"] = r.SetsTried,
            ["worst"] = new JsonArray(r.Worst.Removed.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["worstCircuitMetric"] = r.Worst.CircuitMetric,
            ["worstModelMetric"] = r.Worst.ModelMetric,
            ["worstSource"] = r.Worst.Source,
        };
        return new("completeness", new MetricEntry(r.WorstIncompleteness, MetricUnits.Metric, c, details));
    }

    /// <summary><c>minimality</c>: how many components are not necessary (drop &lt; δ), listing them with their drops.</summary>
    public static KeyValuePair<string, MetricEntry> From(MinimalityResult r)
    {
        var c = r.Conventions.ToDictionary();
        c["delta"] = Invariant.R(r.Delta);
        var details = new JsonObject
        {
            ["components"] = r.Drops.Count,
            ["faithfulness"] = r.Faithfulness,
            ["notNecessary"] = new JsonArray(r.NotNecessary.Select(d => (JsonNode?)new JsonObject { ["component"] = d.Component, ["drop"] = d.Drop }).ToArray()),
        };
        return new("minimality", new MetricEntry(r.NotNecessary.Count, MetricUnits.Count, c, details));
    }

    private static MetricEntry CurveEntry(CurveResult curve, double value)
    {
        var c = curve.Conventions.ToDictionary();
        c["axis"] = curve.Axis == CurveAxis.Nominal ? "nominal" : "actual";
        c["pruned"] = curve.Pruned ? "true" : "false";
        c["ranking"] = curve.Ranking.Name();
        var details = new JsonObject
        {
            ["points"] = new JsonArray(curve.Points.Select(p => (JsonNode?)new JsonObject
            {
                ["edges"] = p.Edges,
                ["faithfulness"] = p.Faithfulness,
                ["percent"] = p.Percent,
                ["requested"] = p.RequestedEdges,
            }).ToArray()),
            ["totalEdges"] = curve.TotalEdges,
        };
        return new MetricEntry(value, MetricUnits.Normalized, c, details);
    }
}
