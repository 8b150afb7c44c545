namespace MechTests.Patching;

/// <summary>
/// Activation-patching effects: effect(x) = metric(clean run with x patched to its corrupted value) − metric(clean),
/// averaged over pairs (signed). <see cref="PerPair"/> keeps every pair's value.
/// </summary>
public sealed class PatchingResult
{
    /// <summary>Creates a result.</summary>
    public PatchingResult(string level, double metricClean, double metricCorrupted, IReadOnlyList<string> names, double[][] perPair, string metric)
    {
        Level = level;
        MetricClean = metricClean;
        MetricCorrupted = metricCorrupted;
        Names = names;
        PerPair = perPair;
        Metric = metric;
        var effects = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++) effects[names[i]] = perPair.Average(row => row[i]);
        Effects = effects;
    }

    /// <summary><c>node</c>, <c>edge</c>, <c>neuron</c>, … and whether per position.</summary>
    public string Level { get; }

    /// <summary>The metric's name (e.g. logit_diff).</summary>
    public string Metric { get; }

    /// <summary>Mean clean metric.</summary>
    public double MetricClean { get; }

    /// <summary>Mean corrupted metric.</summary>
    public double MetricCorrupted { get; }

    /// <summary>Names in measurement (graph) order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Signed mean effect by name.</summary>
    public IReadOnlyDictionary<string, double> Effects { get; }

    /// <summary>[pair][name index] signed effects.</summary>
    public double[][] PerPair { get; }

    /// <summary>Conventions, for reports: ablation and aggregation.</summary>
    public string Conventions => "ablation=corrupted-patch; aggregation=signed_mean; effect=metric(patched)-metric(clean)";
}
