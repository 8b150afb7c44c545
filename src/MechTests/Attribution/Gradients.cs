using MechTests.Hooks;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.Attribution;

/// <summary>Backward passes of a batch's clean run with respect to the task metric.</summary>
internal static class Gradients
{
    /// <summary>∂(Σ_pairs metric)/∂hook at the clean run; each row holds its own pair's gradient.</summary>
    public static ActivationCache OfClean(TaskRuns runs, PairBatch batch, HookFilter hooks, int? stopLayer = null)
    {
        var (_, dLogits) = TaskMetric.ValuesAndGradient(runs.Task.Metric, batch.Clean.Logits, batch.Pairs, batch.CleanLogProbs);
        return runs.Model.Backward(batch.Clean, dLogits, new BackwardOptions { Gradients = hooks, StopGradientAtLayerWrite = stopLayer }).Gradients;
    }

    /// <summary>Divisor of the GradDrop average: L − 1 for nodes inside blocks (their own layer's term is 0), L otherwise.</summary>
    public static int GradDropDivisor(int layers, bool inBlock) => inBlock ? Math.Max(1, layers - 1) : layers;
}
