namespace MechTests.Tensors;

/// <summary>
/// A dense, row-major float32 tensor: a flat array plus a shape. Deliberately plain so kernels can work on
/// spans and pointers and so another backend can convert to and from it cheaply.
/// </summary>
/// <example><code>
/// var t = new Tensor(2, 3);       // zeros, shape [2, 3]
/// t[1, 2] = 5f;
/// float sum = t.Span.ToArray().Sum();
/// </code></example>
public sealed class Tensor
{
    /// <summary>The elements in row-major order; <c>Data.Length == Length</c>.</summary>
    public float[] Data { get; }

    /// <summary>The extent of each dimension.</summary>
    public int[] Shape { get; }

    /// <summary>Creates a zero tensor of the given shape.</summary>
    public Tensor(params int[] shape)
    {
        Shape = (int[])shape.Clone();
        Data = new float[CountOf(shape)];
    }

    /// <summary>Wraps an existing array (not copied) with a shape whose element count must match.</summary>
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        long count = CountOf(shape);
        if (count != data.Length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {count} elements but the data has {data.Length}.");
        Data = data;
        Shape = (int[])shape.Clone();
    }

    /// <summary>Number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The elements as a span.</summary>
    public Span<float> Span => Data;

    /// <summary>Element access by full index.</summary>
    public float this[params int[] index]
    {
        get => Data[Offset(index)];
        set => Data[Offset(index)] = value;
    }

    /// <summary>A deep copy.</summary>
    public Tensor Clone() => new((float[])Data.Clone(), Shape);

    /// <summary>A new tensor sharing no storage, with the same data viewed under another shape.</summary>
    public Tensor Reshape(params int[] shape) => new((float[])Data.Clone(), shape);

    /// <summary>The same storage viewed under another shape with the same element count.</summary>
    public Tensor View(params int[] shape) => new(Data, shape);

    /// <summary>Shape as text, e.g. <c>[2, 15, 768]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <inheritdoc />
    public override string ToString() => $"Tensor{ShapeText}";

    /// <summary>Whether two shapes are equal.</summary>
    public bool SameShape(Tensor other) => Shape.AsSpan().SequenceEqual(other.Shape);

    private int Offset(int[] index)
    {
        if (index.Length != Shape.Length)
            throw new ArgumentException($"Index of rank {index.Length} for a tensor of shape {ShapeText}.");
        int offset = 0;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i])
                throw new IndexOutOfRangeException($"Index {index[i]} out of range for dimension {i} of {ShapeText}.");
            offset = offset * Shape[i] + index[i];
        }
        return offset;
    }

    private static int CountOf(int[] shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape [{string.Join(", ", shape)}].");
            count *= d;
        }
        if (count > Array.MaxLength) throw new ArgumentException($"Shape [{string.Join(", ", shape)}] is too large.");
        return (int)count;
    }
}
