using MechTests.Tensors;

namespace MechTests.Hooks;

/// <summary>Activations (or gradients) by hook-point name. Missing names give an error that lists what is there.</summary>
/// <example><code>
/// Tensor pattern = pass.Cache[HookNames.Pattern(1)];   // [batch, heads, query, key]
/// </code></example>
public sealed class ActivationCache
{
    // Entries are materialised on first read: a device backend hands over a copy-to-host only when it is used.
    private readonly Dictionary<string, Lazy<Tensor>> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lengths = new(StringComparer.Ordinal);

    /// <summary>What this cache holds, e.g. "activations" or "gradients", for error messages.</summary>
    public string Kind { get; }

    /// <summary>Creates an empty cache.</summary>
    public ActivationCache(string kind = "activations") => Kind = kind;

    /// <summary>The tensor stored for <paramref name="hookName"/>.</summary>
    public Tensor this[string hookName] =>
        _items.TryGetValue(hookName, out var t)
            ? t.Value
            : throw new KeyNotFoundException(
                $"No {Kind} cached for hook point '{hookName}'. Cached: {(_items.Count == 0 ? "(none)" : string.Join(", ", _items.Keys.Take(12)) + (_items.Count > 12 ? ", …" : ""))}. " +
                "Select it with RunOptions.Cache / BackwardOptions.Gradients.");

    /// <summary>Whether a tensor is stored for the name.</summary>
    public bool Contains(string hookName) => _items.ContainsKey(hookName);

    /// <summary>Looks a tensor up without throwing.</summary>
    public bool TryGet(string hookName, out Tensor tensor)
    {
        bool found = _items.TryGetValue(hookName, out var lazy);
        tensor = found ? lazy!.Value : null!;
        return found;
    }

    /// <summary>Hook-point names held.</summary>
    public IEnumerable<string> Names => _items.Keys;

    /// <summary>Number of entries.</summary>
    public int Count => _items.Count;

    /// <summary>Stores (or replaces) a tensor.</summary>
    public void Set(string hookName, Tensor tensor)
    {
        _items[hookName] = new Lazy<Tensor>(tensor);
        _lengths[hookName] = tensor.Length;
    }

    /// <summary>
    /// Stores a tensor that is produced on first read (once; thread-safe), e.g. a copy from a GPU to the host that
    /// only happens when a measurement reads the entry. <paramref name="shape"/> is what the tensor will have.
    /// </summary>
    /// <example><code>
    /// cache.SetLazy(HookNames.Result(0), new[] { b, p, h, d }, () => CopyToHost(deviceTensor));
    /// </code></example>
    public void SetLazy(string hookName, int[] shape, Func<Tensor> produce)
    {
        _items[hookName] = new Lazy<Tensor>(produce, LazyThreadSafetyMode.ExecutionAndPublication);
        _lengths[hookName] = shape.Aggregate(1L, (a, x) => a * x);
    }

    /// <summary>Total bytes held (counting entries not yet produced at their final size).</summary>
    public long Bytes => _lengths.Values.Sum(n => n * sizeof(float));
}
