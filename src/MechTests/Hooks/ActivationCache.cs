using MechTests.Tensors;

namespace MechTests.Hooks;

/// <summary>Activations (or gradients) by hook-point name. Missing names give an error that lists what is there.</summary>
/// <example><code>
/// Tensor pattern = pass.Cache[HookNames.Pattern(1)];   // [batch, heads, query, key]
/// </code></example>
public sealed class ActivationCache
{
    private readonly Dictionary<string, Tensor> _items = new(StringComparer.Ordinal);

    /// <summary>What this cache holds, e.g. "activations" or "gradients", for error messages.</summary>
    public string Kind { get; }

    /// <summary>Creates an empty cache.</summary>
    public ActivationCache(string kind = "activations") => Kind = kind;

    /// <summary>The tensor stored for <paramref name="hookName"/>.</summary>
    public Tensor this[string hookName] =>
        _items.TryGetValue(hookName, out var t)
            ? t
            : throw new KeyNotFoundException(
                $"No {Kind} cached for hook point '{hookName}'. Cached: {(_items.Count == 0 ? "(none)" : string.Join(", ", _items.Keys.Take(12)) + (_items.Count > 12 ? ", …" : ""))}. " +
                "Select it with RunOptions.Cache / BackwardOptions.Gradients.");

    /// <summary>Whether a tensor is stored for the name.</summary>
    public bool Contains(string hookName) => _items.ContainsKey(hookName);

    /// <summary>Looks a tensor up without throwing.</summary>
    public bool TryGet(string hookName, out Tensor tensor) => _items.TryGetValue(hookName, out tensor!);

    /// <summary>Hook-point names held.</summary>
    public IEnumerable<string> Names => _items.Keys;

    /// <summary>Number of entries.</summary>
    public int Count => _items.Count;

    /// <summary>Stores (or replaces) a tensor.</summary>
    public void Set(string hookName, Tensor tensor) => _items[hookName] = tensor;

    /// <summary>Total bytes held.</summary>
    public long Bytes => _items.Values.Sum(t => (long)t.Length * sizeof(float));
}
