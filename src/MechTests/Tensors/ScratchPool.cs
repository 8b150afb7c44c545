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
    private readonly Dictionary<int, Stack<float[]>> _free = new();
    private readonly HashSet<float[]> _held = new(ReferenceEqualityComparer.Instance);
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

    /// <summary>A zeroed array of exactly <paramref name="length"/> floats.</summary>
    public float[] Rent(int length)
    {
        if (length >= MinLength)
        {
            float[]? a = null;
            lock (_gate)
            {
                if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
                {
                    a = stack.Pop();
                    _held.Remove(a);
                    _heldFloats -= length;
                }
            }
            if (a != null)
            {
                Array.Clear(a);
                return a;
            }
        }
        return new float[length];
    }

    /// <summary>Gives buffers back (nulls and duplicates within the call are skipped); none may be used afterwards.</summary>
    public void Return(params float[]?[] arrays)
    {
        var seen = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        lock (_gate)
        {
            foreach (var a in arrays)
            {
                if (a == null || a.Length < MinLength || !seen.Add(a) || _heldFloats + a.Length > _capFloats) continue;
                if (!_held.Add(a)) throw new InvalidOperationException("A scratch buffer was returned twice; two passes would have shared it.");
                if (!_free.TryGetValue(a.Length, out var stack)) _free[a.Length] = stack = new Stack<float[]>();
                stack.Push(a);
                _heldFloats += a.Length;
            }
        }
    }
}
