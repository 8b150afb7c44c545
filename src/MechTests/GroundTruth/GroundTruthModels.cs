namespace MechTests.GroundTruth;

/// <summary>
/// Transformers whose mechanism is known by construction, for proving discovery, circuit evaluation and attribution
/// right: <see cref="Induction"/>, <see cref="Cancellation"/> and <see cref="SaturatedAttention"/>.
/// </summary>
/// <example><code>
/// foreach (var m in GroundTruthModels.All())
/// {
///     var runs = TaskRuns.Create(m.CreateEngine(), m.Task);
///     Console.WriteLine($"{m.Name}: clean {runs.CleanMetric:F2}, faithfulness {CircuitScore.Faithfulness(runs, m.CircuitEdges):F4}");
/// }
/// </code></example>
public static partial class GroundTruthModels
{
    /// <summary>Every planted model: the three induction variants, <see cref="Cancellation"/> and <see cref="SaturatedAttention"/>.</summary>
    public static IReadOnlyList<PlantedModel> All() => new[]
    {
        Induction(InductionCorruption.EarlierToken), Induction(InductionCorruption.LastToken), Induction(InductionCorruption.CopiedToken),
        Cancellation(), SaturatedAttention(),
    };
}
