namespace MechTests.Hooks;

/// <summary>What a forward pass records and changes.</summary>
/// <example><code>
/// var options = new RunOptions { Cache = HookFilter.All, RecordForBackward = true };
/// </code></example>
public sealed class RunOptions
{
    /// <summary>Hook points whose (post-intervention) activations are cached. Default none.</summary>
    public HookFilter Cache { get; init; } = HookFilter.None;

    /// <summary>Interventions, applied in list order at their hook points.</summary>
    public List<Intervention> Interventions { get; init; } = new();

    /// <summary>
    /// Compute each head's q/k/v input separately (hook points <c>hook_q_input</c>/<c>hook_k_input</c>/<c>hook_v_input</c>),
    /// as edge-level patching and attribution need. Turned on automatically when one of those hook points is cached or
    /// intervened on.
    /// </summary>
    public bool SplitQkvInput { get; init; }

    /// <summary>Keep what the backward pass needs. Required before calling Backward on the result.</summary>
    public bool RecordForBackward { get; init; }

    /// <summary>
    /// Start at block <see cref="ResumePoint.Layer"/> from a given residual stream instead of the embeddings, reusing
    /// everything upstream (patching uses this to avoid recomputing unchanged layers). Hooks before that block do not run.
    /// </summary>
    public ResumePoint? ResumeFrom { get; init; }

    /// <summary>Compute logits only at each sequence's last position (logits [b,1,V]); saves the unembedding elsewhere.</summary>
    public bool LastPositionLogitsOnly { get; init; }

    /// <summary>Shared instance with defaults (no cache, no interventions).</summary>
    public static RunOptions Default { get; } = new();
}

/// <summary>What a backward pass returns.</summary>
/// <example><code>
/// var grads = engine.Backward(pass, dLogits, new BackwardOptions { Gradients = HookFilter.All, StopGradientAtLayerWrite = 3 });
/// </code></example>
public sealed class BackwardOptions
{
    /// <summary>Hook points whose gradients are returned. Default all.</summary>
    public HookFilter Gradients { get; init; } = HookFilter.All;

    /// <summary>
    /// GradDrop: zero the gradient flowing into layer l's residual writes (its attn_out and mlp_out), so the gradient
    /// passes layer l only along the skip connection. Null: no stop.
    /// </summary>
    public int? StopGradientAtLayerWrite { get; init; }

    /// <summary>Also compute gradients of every weight (for fine-tuning).</summary>
    public bool WeightGradients { get; init; }

    /// <summary>
    /// Start at the residual stream leaving block <see cref="BackwardResumePoint.Layer"/> with a given gradient instead of
    /// at the logits: the unembedding and the blocks above do not run (their hooks get nothing, dLogits is ignored).
    /// GradDrop uses it: with layer ℓ's write dropped, everything above ℓ has the ordinary gradient, so each variant
    /// only needs blocks ℓ..0. Not combinable with <see cref="WeightGradients"/>.
    /// </summary>
    /// <example><code>
    /// var full = engine.Backward(pass, dLogits, new BackwardOptions()).Gradients;
    /// var drop3 = engine.Backward(pass, dLogits, new BackwardOptions
    /// {
    ///     StopGradientAtLayerWrite = 3,
    ///     ResumeFrom = new BackwardResumePoint(3, full[HookNames.ResidPost(3)]),
    /// }).Gradients;   // equals the full stop-at-3 pass at every hook of blocks 0..3 and the embeddings
    /// </code></example>
    public BackwardResumePoint? ResumeFrom { get; init; }
}

/// <summary>Where a resumed backward pass starts: ∂metric/∂resid_post of <paramref name="Layer"/>, shape [b,p,d].</summary>
public sealed record BackwardResumePoint(int Layer, MechTests.Tensors.Tensor ResidPostGradient);

/// <summary>Where a resumed forward pass starts: the residual stream entering <paramref name="Layer"/>, shape [b,p,d].</summary>
public sealed record ResumePoint(int Layer, MechTests.Tensors.Tensor ResidPre);
