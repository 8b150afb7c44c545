using MechTests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MechTests.TorchSharp.Modules;

/// <summary>
/// The base of a transformer that MechTests can measure: <c>forward(tokens [b,p] int64) → logits [b,p,V]</c>, with
/// <see cref="HookPoint"/> modules at the hook points of <c>docs/hook-points.md</c> and a <see cref="ModelConfig"/> that
/// states its shape. <see cref="Backend.HookContract"/> checks a model against what node- and edge-level measurement need;
/// wrap it in a <see cref="Backend.TorchSharpBackend"/> to run every MechTests measurement on it.
/// </summary>
/// <example><code>
/// public sealed class MyGpt : HookedTransformer
/// {
///     public MyGpt(ModelConfig cfg) : base("my_gpt", cfg) { /* layers and HookPoints */ RegisterComponents(); }
///     public override Tensor forward(Tensor tokens) { /* … */ }
/// }
/// var backend = new TorchSharpBackend(new MyGpt(cfg));
/// </code></example>
public abstract class HookedTransformer : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module.</summary>
    protected HookedTransformer(string name, ModelConfig config) : base(name)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate($"{name}: model config");
        Config = config;
    }

    /// <summary>The model's shape (heads, widths, vocabulary) as MechTests needs it.</summary>
    public ModelConfig Config { get; }

    /// <summary>
    /// Set by the backend before a run that needs each head's q/k/v input separately (edge-level measurement): the
    /// model then exposes <c>hook_q_input</c>/<c>hook_k_input</c>/<c>hook_v_input</c> [b,p,H,d] and feeds each head's
    /// projection from its own copy. Models that do not support it leave <see cref="SupportsSplitQkvInput"/> false.
    /// </summary>
    public bool SplitQkvInput { get; set; }

    /// <summary>Whether the model honours <see cref="SplitQkvInput"/> (needed for edge-level measurement).</summary>
    public virtual bool SupportsSplitQkvInput => false;

    /// <summary>
    /// Runs blocks <paramref name="layer"/>.. from a given residual stream [b,p,d] and returns the logits; null when the
    /// model cannot (the backend then re-runs the whole model with <c>hook_resid_pre</c> of that layer replaced, which
    /// gives the same numbers, only slower).
    /// </summary>
    public virtual Tensor? ForwardFrom(int layer, Tensor residPre) => null;

    /// <summary>Every hook point of the model, found among its submodules.</summary>
    public IReadOnlyList<HookPoint> HookPoints() => modules().OfType<HookPoint>().ToList();
}
