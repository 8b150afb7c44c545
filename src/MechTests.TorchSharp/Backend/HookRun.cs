using MechTests.Hooks;
using MechTests.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;
using HostTensor = MechTests.Tensors.Tensor;

namespace MechTests.TorchSharp.Backend;

/// <summary>
/// One forward pass's hook handling: interventions (on the device), caching (copied to the host only when read) and,
/// when recording, the hook tensors autograd differentiates at.
/// </summary>
internal sealed class HookRun : IHookRun
{
    private readonly TorchSharpBackend _backend;
    private readonly RunOptions _options;
    private readonly Dictionary<string, List<Intervention>> _interventions = new(StringComparer.Ordinal);
    private readonly PassResources _resources;

    public HookRun(TorchSharpBackend backend, RunOptions options, bool record, PassResources resources)
    {
        _backend = backend;
        _options = options;
        Record = record;
        _resources = resources;
        foreach (var iv in options.Interventions)
        {
            if (!_interventions.TryGetValue(iv.HookName, out var list)) _interventions[iv.HookName] = list = new();
            list.Add(iv);
        }
    }

    public bool Record { get; }

    /// <summary>Post-intervention activations selected by <see cref="RunOptions.Cache"/>.</summary>
    public ActivationCache Cache { get; } = new("activations");

    /// <summary>Recorded hook tensors (graph nodes) by name.</summary>
    public Dictionary<string, Tensor> Recorded { get; } = new(StringComparer.Ordinal);

    /// <summary>Hook points reached, for the contract check.</summary>
    public HashSet<string> Reached { get; } = new(StringComparer.Ordinal);

    /// <summary>When resuming by replay: hooks of blocks below this layer do nothing.</summary>
    public int SilentBelow { get; set; } = int.MinValue;

    /// <summary>When resuming by replay: the resid_pre replacement.</summary>
    public (string Name, Tensor Value)? Replace { get; set; }

    public IEnumerable<string> InterventionHooks => _interventions.Keys;

    public bool Intervenes(string name) => _interventions.ContainsKey(name);

    public bool Active(string name) => Intervenes(name) || _options.Cache.Matches(name);

    public Tensor At(string name, Tensor x)
    {
        int block = HookNames.BlockOf(name);
        if (block < SilentBelow) return x;
        Reached.Add(name);
        if (Replace is { } r && r.Name == name) x = r.Value;
        var y = x;
        if (Record)
            // A node of its own, so its gradient is what flows through this hook point's uses only.
            y = x.requires_grad ? x.view_as(x) : x.detach().requires_grad_(true);
        if (_interventions.TryGetValue(name, out var list))
            foreach (var iv in list) y = Apply(iv, name, block, y);
        if (Record) Recorded[name] = _resources.Keep(y);
        if (_options.Cache.Matches(name))
        {
            var kept = _resources.Keep(y.detach());
            var shape = kept.shape.Select(s => (int)s).ToArray();
            Cache.SetLazy(name, shape, () => _resources.ToHost(kept));
        }
        return y;
    }

    private Tensor Apply(Intervention iv, string name, int block, Tensor y)
    {
        Tensor changed;
        if (iv.Kind == InterventionKind.Custom)
        {
            // A user function over a host tensor: the only case where the activation crosses to the host and back.
            var host = _resources.ToHost(y);
            iv.Apply(host, new HookContext(name, block < 0 || block == int.MaxValue ? -1 : block, Cache));
            changed = _backend.Upload(host, y.device);
        }
        else
        {
            var target = y.detach();
            Tensor? operand = null;
            if (iv.Operand is { } op)
            {
                if (!op.Shape.Select(s => (long)s).SequenceEqual(target.shape))
                    throw new ArgumentException($"Intervention tensor has shape {op.ShapeText} but the hook point's activation has shape [{string.Join(", ", target.shape)}].");
                operand = _backend.Upload(op, y.device);
            }
            var mask = Mask(name, target, iv.Positions, iv.Heads);
            changed = iv.Kind switch
            {
                InterventionKind.Replace => mask is null ? operand! : where(mask, operand!, target),
                InterventionKind.Add => mask is null ? target.Plus(operand!) : target.Plus(where(mask, operand!, zeros_like(target))),
                _ => mask is null ? zeros_like(target) : where(mask, zeros_like(target), target),
            };
        }
        if (!Record) return changed;
        // Straight-through: the value is the changed one, the gradient passes as if a constant were added. Masked
        // attention scores are −∞, where x − x would be NaN.
        var diff = y.Minus(y.detach());
        if (Intervention.IsAttentionHook(name)) diff = where(y.detach().isfinite(), diff, zeros_like(diff));
        return changed.detach().Plus(diff);
    }

    /// <summary>A broadcastable bool mask over dims 1 and 2 (heads/query positions for attention hooks), or null for all.</summary>
    private static Tensor? Mask(string name, Tensor target, IReadOnlyCollection<int>? positions, IReadOnlyCollection<int>? heads)
    {
        if (positions is null && heads is null) return null;
        bool attention = Intervention.IsAttentionHook(name);
        int rank = (int)target.dim();
        int d1 = rank > 1 ? (int)target.shape[1] : 1, d2 = rank > 2 ? (int)target.shape[2] : 1;
        var m = new bool[d1 * d2];
        for (int j = 0; j < d1; j++)
        for (int k = 0; k < d2; k++)
        {
            int pos = attention ? k : j, head = attention ? j : k;
            m[j * d2 + k] = (positions is null || positions.Contains(pos)) && (heads is null || heads.Contains(head));
        }
        var shape = new long[rank];
        Array.Fill(shape, 1L);
        if (rank > 1) shape[1] = d1;
        if (rank > 2) shape[2] = d2;
        return tensor(m, shape, device: target.device);
    }
}

/// <summary>Device tensors a pass or backward pass keeps past its dispose scope; freed together.</summary>
internal sealed class PassResources : IDisposable
{
    private readonly List<Tensor> _kept = new();
    private int _disposed;

    public Tensor Keep(Tensor t)
    {
        t.DetachFromDisposeScope();
        lock (_kept) _kept.Add(t);
        return t;
    }

    public HostTensor ToHost(Tensor t)
    {
        if (Volatile.Read(ref _disposed) != 0)
            throw new ObjectDisposedException(nameof(PassResources), "The pass was disposed: its device tensors were freed. Read what you need before disposing.");
        using var scope = NewDisposeScope();
        var c = t.detach().to(ScalarType.Float32).cpu().contiguous();
        return new HostTensor(c.data<float>().ToArray(), c.shape.Select(s => (int)s).ToArray());
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        lock (_kept)
        {
            foreach (var t in _kept) t.Dispose();
            _kept.Clear();
        }
    }
}
