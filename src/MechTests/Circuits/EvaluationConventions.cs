using MechTests.Tasks;

namespace MechTests.Circuits;

/// <summary>
/// The choices an evaluation number depends on (Miller et al. 2024 show the same circuit scoring from &lt;0% to
/// &gt;100% under different ones), recorded with every result and written next to it in circuit files.
/// </summary>
/// <param name="Ablation">How removed components are ablated: <c>corrupted-patch</c> (they carry their value from the corrupted prompt).</param>
/// <param name="Level"><c>edge</c> or <c>node</c>.</param>
/// <param name="Positions">Token positions patched: <c>all</c>.</param>
/// <param name="Metric">The task metric name (e.g. <c>logit_diff</c>, <c>kl</c>).</param>
/// <param name="Patched">
/// What carried corrupted values: <c>complement</c> (every edge outside the circuit) for faithfulness and curves;
/// <c>complement+K / K</c> for completeness (K knocked out of the circuit run / of the full model);
/// <c>complement+v</c> for minimality.
/// </param>
public sealed record EvaluationConventions(string Ablation, string Level, string Positions, string Metric, string Patched)
{
    /// <summary>Conventions of a corrupted-patch evaluation of <paramref name="level"/> on a task.</summary>
    public static EvaluationConventions For(MechTask task, CircuitLevel level, string patched)
        => new("corrupted-patch", level == CircuitLevel.Edge ? "edge" : "node", "all", MetricNames.Of(task.Metric), patched);

    /// <summary>As sorted key/value pairs, the form circuit files store.</summary>
    public SortedDictionary<string, string> ToDictionary() => new(StringComparer.Ordinal)
    {
        ["ablation"] = Ablation,
        ["level"] = Level,
        ["metric"] = Metric,
        ["patched"] = Patched,
        ["positions"] = Positions,
    };

    /// <inheritdoc />
    public override string ToString() => $"ablation={Ablation}; level={Level}; positions={Positions}; metric={Metric}; patched={Patched}";
}
