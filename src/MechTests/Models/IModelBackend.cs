using MechTests.Hooks;
using MechTests.Tensors;

namespace MechTests.Models;

/// <summary>
/// The seam between measurement and engine: run with a cache, run with interventions, gradients at hook points.
/// The managed <see cref="Transformer"/> implements it; another backend (TorchSharp, a GPU) can slot in behind it
/// without touching the layers above.
/// </summary>
/// <example><code>
/// IModelBackend engine = new Transformer(model.Config, model.Weights);
/// var pass = engine.Run(new[] { tokens }, new RunOptions { RecordForBackward = true, Cache = HookFilter.All });
/// var grads = engine.Backward(pass, dLogits, new BackwardOptions());
/// </code></example>
public interface IModelBackend
{
    /// <summary>The model's shape.</summary>
    ModelConfig Config { get; }

    /// <summary>Runs a batch of equal-length token sequences.</summary>
    ForwardPass Run(IReadOnlyList<int[]> tokens, RunOptions options);

    /// <summary>
    /// Back-propagates <paramref name="dLogits"/> (∂metric/∂logits, shape [b,p,V]) from a pass recorded with
    /// <see cref="RunOptions.RecordForBackward"/>.
    /// </summary>
    BackwardPass Backward(ForwardPass pass, Tensor dLogits, BackwardOptions options);

    /// <summary>
    /// Maps residual-stream inputs [b,p,d] through query head <paramref name="head"/>'s ln1 and its query (or key)
    /// projection, rotary included: what the head's &lt;q&gt; (or &lt;k&gt;) port would compute from that input. For
    /// keys under grouped-query attention the head's kv group is used. Returns [b,p,d_head]. AtP*'s QK fix uses it to
    /// recompute attention logits exactly.
    /// </summary>
    Tensor ProjectHeadInput(int layer, int head, bool key, Tensor residInput);
}

/// <summary>
/// The result of a forward pass. Disposing it gives the backward record's working buffers back to the engine for the
/// next pass (logits and cache stay valid; the pass can no longer be back-propagated). Not disposing is fine: the GC
/// reclaims them, only more slowly.
/// </summary>
/// <example><code>
/// using var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true });
/// var grads = engine.Backward(pass, dLogits, new BackwardOptions()).Gradients;
/// </code></example>
public sealed class ForwardPass : IDisposable
{
    private Action? _release;

    internal ForwardPass(Tensor logits, ActivationCache cache, int batch, int positions, object? tape, Action? release = null)
    {
        Logits = logits;
        Cache = cache;
        Batch = batch;
        Positions = positions;
        Tape = tape;
        _release = release;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var release = Interlocked.Exchange(ref _release, null);
        Tape = null;
        release?.Invoke();
    }

    /// <summary>Logits [b,p,V].</summary>
    public Tensor Logits { get; }

    /// <summary>Cached activations (post-intervention).</summary>
    public ActivationCache Cache { get; }

    /// <summary>Batch size.</summary>
    public int Batch { get; }

    /// <summary>Sequence length.</summary>
    public int Positions { get; }

    /// <summary>Backend-specific record for the backward pass; null when not recorded.</summary>
    internal object? Tape { get; private set; }
}

/// <summary>The result of a backward pass: gradients of the metric at hook points and (optionally) weights.</summary>
public sealed class BackwardPass
{
    internal BackwardPass(ActivationCache gradients, IReadOnlyDictionary<string, float[]>? weightGradients)
    {
        Gradients = gradients;
        WeightGradients = weightGradients;
    }

    /// <summary>∂metric/∂activation by hook-point name, shaped like the activation.</summary>
    public ActivationCache Gradients { get; }

    /// <summary>∂metric/∂weight keyed like <see cref="ModelWeights.Named"/>; null unless requested.</summary>
    public IReadOnlyDictionary<string, float[]>? WeightGradients { get; }
}
