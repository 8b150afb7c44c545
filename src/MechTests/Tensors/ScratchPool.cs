namespace MechTests.Tensors;

/// <summary>
/// Reuses the large float buffers of forward and backward passes. Every one of them is a large-object-heap array
/// the GC hands back to the OS between passes, so without reuse each pass pays a fresh page fault for every 4 KiB it
/// touches — on a virtualised 2-core machine that was more than half of a GPT-2-small forward pass.
/// </summary>
/// <remarks>
/// Rented arrays are zeroed, as <c>new float[n]</c> would be. Thread-safe; buffers above the byte cap are left to the
/// GC. Returning an array that is still in use would corrupt a later pass, so a second return of the same array
/// throws instead of being ignored.
/// </remarks>
internal sealed class ScratchPool
{
    /// <summary>Arrays shorter than this come from the small-object heap, where the GC reuses memory anyway.</summary>
    public const int DefaultMinLength = 85_000 / sizeof(float);

    private readonly object _gate = new();
    private readonly Dictionary<int, List<float[]>> _free = new();
    // Held buffers in the order they came back, so the oldest go first when the cap is reached: the sizes a
    // program uses now are the ones worth keeping.
    private readonly LinkedList<float[]> _order = new();
    private readonly Dictionary<float[], LinkedListNode<float[]>> _held = new(ReferenceEqualityComparer.Instance);
    private readonly long _capFloats;
    private long _heldFloats;

    public ScratchPool(long capBytes, int minLength = DefaultMinLength)
    {
        _capFloats = capBytes / sizeof(float);
        MinLength = minLength;
    }

    /// <summary>Shorter arrays are neither pooled nor reused.</summary>
    public int MinLength { get; }

    /// <summary>Floats currently held for reuse.</summary>
    public long HeldFloats
    {
        get { lock (_gate) return _heldFloats; }
    }

    /// <summary>An array of exactly <paramref name="length"/> floats, zeroed unless <paramref name="clear"/> is false
    /// (for buffers the caller overwrites in full).</summary>
    public float[] Rent(int length, bool clear = true)
    {
        if (length >= MinLength)
        {
            float[]? a = null;
            lock (_gate)
            {
                if (_free.TryGetValue(length, out var list) && list.Count > 0)
                {
                    a = list[^1];
                    list.RemoveAt(list.Count - 1);
                    Forget(a);
                }
            }
            if (a != null)
            {
                if (clear) Array.Clear(a);
                return a;
            }
        }
        return new float[length];
    }

    /// <summary>A pooled copy of <paramref name="source"/> (no clearing: the copy writes every element).</summary>
    public float[] RentCopy(float[] source)
    {
        var copy = Rent(source.Length, clear: false);
        Array.Copy(source, copy, source.Length);
        return copy;
    }

    /// <summary>
    /// Gives buffers back (nulls and duplicates within the call are skipped); none may be used afterwards. When the
    /// cap is reached the longest-held buffers are left to the GC; a buffer larger than the cap is never held.
    /// </summary>
    public void Return(params float[]?[] arrays)
    {
        var seen = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        lock (_gate)
        {
            foreach (var a in arrays)
            {
                if (a == null || a.Length < MinLength || !seen.Add(a) || a.Length > _capFloats) continue;
                if (_held.ContainsKey(a)) throw new InvalidOperationException("A scratch buffer was returned twice; two passes would have shared it.");
                while (_heldFloats + a.Length > _capFloats) EvictOldest();
                if (!_free.TryGetValue(a.Length, out var list)) _free[a.Length] = list = new List<float[]>();
                list.Add(a);
                _held[a] = _order.AddLast(a);
                _heldFloats += a.Length;
            }
        }
    }

    private void EvictOldest()
    {
        var oldest = _order.First!.Value;
        // Within one length buffers are listed in the order they came back, so the oldest is first.
        _free[oldest.Length].RemoveAt(0);
        Forget(oldest);
    }

    private void Forget(float[] a)
    {
        _order.Remove(_held[a]);
        _held.Remove(a);
        _heldFloats -= a.Length;
    }
}
