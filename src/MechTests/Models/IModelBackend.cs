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
/// The result of a forward pass. Disposing it gives its buffers — logits, cached activations and the backward
/// record — back to the engine for the next pass: after <see cref="Dispose"/> nothing from the pass may be used
/// (reading <see cref="Logits"/> or <see cref="Cache"/> throws; a tensor taken earlier would see a later pass's
/// numbers) and it can no longer be back-propagated. Not disposing is fine: the GC reclaims everything, only more
/// slowly (on some machines each fresh large buffer costs a page fault per 4 KiB).
/// </summary>
/// <example><code>
/// using (var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true }))
/// {
///     float top = pass.Logits[0, 2, 261];
///     using var grads = engine.Backward(pass, dLogits, new BackwardOptions());
///     Use(grads.Gradients);
/// } // logits, record and gradient buffers are reused by the next pass
/// </code></example>
public sealed class ForwardPass : IDisposable
{
    private Action? _release;
    private readonly Lazy<Tensor> _logits;
    private readonly ActivationCache _cache;
    private int _disposed;

    /// <summary>
    /// Creates a pass (for backends): <paramref name="backendRecord"/> is whatever the backend's
    /// <see cref="IModelBackend.Backward"/> needs (null when not recorded); <paramref name="release"/> runs once on
    /// <see cref="Dispose"/>.
    /// </summary>
    /// <example><code>
    /// return new ForwardPass(new Tensor(logits, b, t, vocab), cache, b, t, myRecord, () => myRecord.Free());
    /// </code></example>
    public ForwardPass(Tensor logits, ActivationCache cache, int batch, int positions, object? backendRecord = null, Action? release = null)
        : this(new Lazy<Tensor>(logits), cache, batch, positions, backendRecord, release) { }

    /// <summary>
    /// Creates a pass whose logits are produced on first read (a device backend copies them to the host only then);
    /// <paramref name="logitsShape"/> is [b, p or 1, V].
    /// </summary>
    public ForwardPass(int[] logitsShape, Func<Tensor> logits, ActivationCache cache, int batch, int positions, object? backendRecord = null, Action? release = null)
        : this(new Lazy<Tensor>(logits, LazyThreadSafetyMode.ExecutionAndPublication), cache, batch, positions, backendRecord, release)
    {
        ArgumentNullException.ThrowIfNull(logitsShape);
    }

    private ForwardPass(Lazy<Tensor> logits, ActivationCache cache, int batch, int positions, object? tape, Action? release)
    {
        _logits = logits;
        _cache = cache;
        Batch = batch;
        Positions = positions;
        Tape = tape;
        _release = release;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Volatile.Write(ref _disposed, 1);
        var release = Interlocked.Exchange(ref _release, null);
        Tape = null;
        release?.Invoke();
    }

    /// <summary>Logits [b,p,V]; valid until the pass is disposed.</summary>
    /// <exception cref="ObjectDisposedException">The pass was disposed and its buffers given back.</exception>
    public Tensor Logits => Live(_logits).Value;

    /// <summary>Cached activations (post-intervention); valid until the pass is disposed.</summary>
    /// <exception cref="ObjectDisposedException">The pass was disposed and its buffers given back.</exception>
    public ActivationCache Cache => Live(_cache);

    private T Live<T>(T value) => Volatile.Read(ref _disposed) == 0 ? value
        : throw new ObjectDisposedException(nameof(ForwardPass), "The forward pass was disposed: its logits and cache buffers went back to the engine. Read (or copy) what you need before disposing.");

    /// <summary>Batch size.</summary>
    public int Batch { get; }

    /// <summary>Sequence length.</summary>
    public int Positions { get; }

    /// <summary>Backend-specific record for the backward pass; null when not recorded.</summary>
    internal object? Tape { get; private set; }

    /// <summary>The record the backend kept for its backward pass (null when not recorded, or after <see cref="Dispose"/>).</summary>
    public object? BackendRecord => Tape;
}

/// <summary>
/// The result of a backward pass: gradients of the metric at hook points and (optionally) weights. Disposing it gives
/// the hook-point gradients' buffers back to the engine (reading <see cref="Gradients"/> then throws; tensors taken
/// from it earlier must not be used). <see cref="WeightGradients"/> stay valid. Not disposing is fine.
/// </summary>
/// <example><code>
/// using var grads = engine.Backward(pass, dLogits, new BackwardOptions { Gradients = HookFilter.Where(n => n.EndsWith("hook_result")) });
/// float g = grads.Gradients["blocks.0.attn.hook_result"][0, 3, 1, 7];
/// </code></example>
public sealed class BackwardPass : IDisposable
{
    private readonly ActivationCache _gradients;
    private Action? _release;
    private int _disposed;

    /// <summary>Creates a backward pass (for backends); <paramref name="release"/> runs once on <see cref="Dispose"/>.</summary>
    /// <example><code>
    /// var grads = new ActivationCache("gradients");
    /// grads.Set(HookNames.Logits, dLogits);
    /// return new BackwardPass(grads, weightGradients: null);
    /// </code></example>
    public BackwardPass(ActivationCache gradients, IReadOnlyDictionary<string, float[]>? weightGradients, Action? release = null)
    {
        _gradients = gradients;
        WeightGradients = weightGradients;
        _release = release;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Volatile.Write(ref _disposed, 1);
        Interlocked.Exchange(ref _release, null)?.Invoke();
    }

    /// <summary>∂metric/∂activation by hook-point name, shaped like the activation; valid until disposed.</summary>
    /// <exception cref="ObjectDisposedException">The pass was disposed and its buffers given back.</exception>
    public ActivationCache Gradients => Volatile.Read(ref _disposed) == 0 ? _gradients
        : throw new ObjectDisposedException(nameof(BackwardPass), "The backward pass was disposed: its gradient buffers went back to the engine. Use the gradients before disposing.");

    /// <summary>∂metric/∂weight keyed like <see cref="ModelWeights.Named"/>; null unless requested. Not affected by <see cref="Dispose"/>.</summary>
    public IReadOnlyDictionary<string, float[]>? WeightGradients { get; }
}
