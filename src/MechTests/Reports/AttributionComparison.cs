using MechTests.Attribution;
using MechTests.Patching;

namespace MechTests.Reports;

/// <summary>
/// AtP* node scores next to exhaustive activation patching of the same nodes (the ground truth), with the agreement
/// statistics <see cref="AgreementReport"/> computes — what a report's scatter plot shows.
/// </summary>
/// <param name="AtPStar">AtP* scores (abs_mean over pairs; QK fix and GradDrop on).</param>
/// <param name="Patching">Activation patching effects (corrupted-patch, signed mean of metric(patched) − metric(clean)).</param>
/// <param name="Agreement">Spearman and top-k recall of |score| against |effect|.</param>
/// <example><code>
/// using var runs = TaskRuns.Create(engine, task);
/// var comparison = AttributionComparison.Measure(runs, topK: 10);
/// Console.WriteLine($"Spearman {comparison.Agreement.Spearman:F3}");
/// </code></example>
public sealed record AttributionComparison(AttributionResult AtPStar, PatchingResult Patching, AgreementReport Agreement)
{
    /// <summary>AtP* and activation patching of the component nodes (input, every head, every MLP) of <paramref name="runs"/>.</summary>
    /// <example><code>
    /// var comparison = AttributionComparison.Measure(runs);
    /// </code></example>
    public static AttributionComparison Measure(TaskRuns runs, int topK = 10, IProgress<int>? progress = null)
    {
        var nodes = NodeSets.Build(runs.Model.Config, NodeGranularity.Component);
        var star = NodeAttribution.AtPStar(runs, nodes);
        var truth = NodePatching.Run(runs, nodes, progress);
        return new AttributionComparison(star, truth, AgreementReport.Compute(star.Scores, truth.Effects, topK));
    }
}
