using MechTests.Hooks;
using MechTests.Patching;
using MechTests.Models;
using MechTests.Tasks;

namespace MechTests.Attribution;

/// <summary>Backward passes of a batch's clean run with respect to the task metric.</summary>
internal static class Gradients
{
    /// <summary>
    /// ∂(Σ_pairs metric)/∂hook at the clean run; each row holds its own pair's gradient. Dispose the pass when done
    /// with its gradients: their buffers go back to the engine for the next pass.
    /// </summary>
    public static BackwardPass OfClean(TaskRuns runs, PairBatch batch, HookFilter hooks, int? stopLayer = null)
    {
        var (_, dLogits) = TaskMetric.ValuesAndGradient(runs.Task.Metric, batch.Clean.Logits, batch.Pairs, batch.CleanLogProbs);
        return runs.Model.Backward(batch.Clean, dLogits, new BackwardOptions { Gradients = hooks, StopGradientAtLayerWrite = stopLayer });
    }

    /// <summary>
    /// GradDrop's L gradient variants (variant ℓ: layer ℓ's residual write dropped), from one full backward pass and
    /// one backward per ℓ that starts at resid_post(ℓ): above ℓ the dropped write changes nothing, so those hooks
    /// keep the full pass's gradient. Σ_ℓ (ℓ+1) blocks instead of L full passes; values identical to running each
    /// stopped pass whole. Each variant is valid only until the next one is requested (its buffers are reused).
    /// </summary>
    public static IEnumerable<ActivationCache> GradDropVariants(TaskRuns runs, PairBatch batch, HookFilter hooks)
    {
        int layers = runs.Model.Config.NLayers;
        var (_, dLogits) = TaskMetric.ValuesAndGradient(runs.Task.Metric, batch.Clean.Logits, batch.Pairs, batch.CleanLogProbs);
        var withResid = HookFilter.Where(n => hooks.Matches(n) || IsResidPost(n, layers));
        using var fullPass = runs.Model.Backward(batch.Clean, dLogits, new BackwardOptions { Gradients = withResid });
        var full = fullPass.Gradients;
        for (int l = 0; l < layers; l++)
        {
            using var belowPass = runs.Model.Backward(batch.Clean, dLogits, new BackwardOptions
            {
                Gradients = hooks,
                StopGradientAtLayerWrite = l,
                ResumeFrom = new BackwardResumePoint(l, full[HookNames.ResidPost(l)]),
            });
            var below = belowPass.Gradients;
            var merged = new ActivationCache("gradients");
            foreach (var name in full.Names)
                if (hooks.Matches(name)) merged.Set(name, HookNames.BlockOf(name) > l ? full[name] : below[name]);
            yield return merged;
        }
    }

    private static bool IsResidPost(string name, int layers)
    {
        int l = HookNames.BlockOf(name);
        return l >= 0 && l < layers && name == HookNames.ResidPost(l);
    }

    /// <summary>Divisor of the GradDrop average: L − 1 for nodes inside blocks (their own layer's term is 0), L otherwise.</summary>
    public static int GradDropDivisor(int layers, bool inBlock) => inBlock ? Math.Max(1, layers - 1) : layers;
}
