using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MechTests.Models.Loading;

/// <summary>
/// Builds a <c>.safetensors</c> file. Output is deterministic: <c>__metadata__</c> first, then tensors sorted by name
/// (ordinal) both in the header and in the data buffer, and the header padded with spaces to a multiple of 8 bytes so
/// the data buffer is aligned. Float tensors can be stored as F32, F16, BF16 or F64 (rounded to nearest, ties to even).
/// Arrays are referenced, not copied, until <see cref="Write"/>.
/// </summary>
/// <example><code>
/// new SafeTensorsWriter()
///     .Add("wte.weight", embed, [vocab, dModel])
///     .Add("ln_f.weight", lnf, [dModel], SafeTensorsDType.BF16)
///     .SetMetadata("format", "pt")
///     .Write("model.safetensors");
/// </code></example>
public sealed class SafeTensorsWriter
{
    private sealed record Entry(SafeTensorsDType DType, int[] Shape, Array Data);

    private readonly SortedDictionary<string, Entry> _tensors = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>Adds a float tensor stored as <paramref name="dtype"/> (F32, F16, BF16 or F64).</summary>
    public SafeTensorsWriter Add(string name, float[] data, int[] shape, SafeTensorsDType dtype = SafeTensorsDType.F32)
    {
        if (!dtype.IsFloat())
            throw new ArgumentException($"Float data cannot be stored as {dtype}; use AddInt32/AddInt64.", nameof(dtype));
        return AddEntry(name, data, shape, dtype);
    }

    /// <summary>Adds an I32 tensor.</summary>
    public SafeTensorsWriter AddInt32(string name, int[] data, int[] shape) => AddEntry(name, data, shape, SafeTensorsDType.I32);

    /// <summary>Adds an I64 tensor.</summary>
    public SafeTensorsWriter AddInt64(string name, long[] data, int[] shape) => AddEntry(name, data, shape, SafeTensorsDType.I64);

    /// <summary>Sets a <c>__metadata__</c> entry.</summary>
    public SafeTensorsWriter SetMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
        return this;
    }

    /// <summary>Writes the file to <paramref name="path"/>, replacing any existing file.</summary>
    public void Write(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        WriteTo(stream);
    }

    /// <summary>Writes the file to <paramref name="stream"/> (left open).</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] header = BuildHeader();
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var entry in _tensors.Values)
            WriteData(stream, entry);
        stream.Flush();
    }

    private SafeTensorsWriter AddEntry(string name, Array data, int[] shape, SafeTensorsDType dtype)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (name == "__metadata__")
            throw new ArgumentException("'__metadata__' is reserved for the metadata map.", nameof(name));
        if (_tensors.ContainsKey(name))
            throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));
        if (shape.Any(d => d < 0))
            throw new ArgumentException($"Tensor '{name}' has a negative dimension in {SafeTensorsFile.FormatShape(shape)}.", nameof(shape));
        long count = SafeTensorsFile.CountOf(shape);
        if (count != data.Length)
            throw new ArgumentException($"Tensor '{name}' has shape {SafeTensorsFile.FormatShape(shape)} ({count} elements) but {data.Length} values.", nameof(data));
        _tensors.Add(name, new Entry(dtype, (int[])shape.Clone(), data));
        return this;
    }

    private byte[] BuildHeader()
    {
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms))
        {
            json.WriteStartObject();
            if (_metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in _metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, entry) in _tensors)
            {
                long bytes = (long)entry.Data.Length * entry.DType.SizeOf();
                json.WriteStartObject(name);
                json.WriteString("dtype", entry.DType.HeaderName());
                json.WriteStartArray("shape");
                foreach (int d in entry.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad with spaces (valid JSON whitespace) so the data buffer starts 8-byte aligned.
        int padded = (int)((ms.Length + 7) / 8 * 8);
        while (ms.Length < padded) ms.WriteByte((byte)' ');
        if (ms.Length > SafeTensorsFile.MaxHeaderBytes)
            throw new InvalidOperationException($"The header would be {ms.Length} bytes, over the {SafeTensorsFile.MaxHeaderBytes}-byte limit.");
        return ms.ToArray();
    }

    private static void WriteData(Stream stream, Entry entry)
    {
        const int chunk = 1 << 16;
        switch (entry.DType)
        {
            case SafeTensorsDType.F32 when BitConverter.IsLittleEndian:
                stream.Write(MemoryMarshal.AsBytes(((float[])entry.Data).AsSpan()));
                return;
            case SafeTensorsDType.I32 when BitConverter.IsLittleEndian:
                stream.Write(MemoryMarshal.AsBytes(((int[])entry.Data).AsSpan()));
                return;
            case SafeTensorsDType.I64 when BitConverter.IsLittleEndian:
                stream.Write(MemoryMarshal.AsBytes(((long[])entry.Data).AsSpan()));
                return;
        }

        int size = entry.DType.SizeOf();
        var buffer = new byte[chunk * size];
        int n = entry.Data.Length;
        var floats = entry.Data as float[];
        var ints = entry.Data as int[];
        var longs = entry.Data as long[];
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start);
            var span = buffer.AsSpan(0, count * size);
            for (int i = 0; i < count; i++)
            {
                int j = start + i;
                switch (entry.DType)
                {
                    case SafeTensorsDType.F32:
                        BinaryPrimitives.WriteSingleLittleEndian(span[(4 * i)..], floats![j]);
                        break;
                    case SafeTensorsDType.F16:
                        BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], SafeTensorsDTypes.SingleToHalf(floats![j]));
                        break;
                    case SafeTensorsDType.BF16:
                        BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], SafeTensorsDTypes.SingleToBFloat16(floats![j]));
                        break;
                    case SafeTensorsDType.F64:
                        BinaryPrimitives.WriteDoubleLittleEndian(span[(8 * i)..], floats![j]);
                        break;
                    case SafeTensorsDType.I32:
                        BinaryPrimitives.WriteInt32LittleEndian(span[(4 * i)..], ints![j]);
                        break;
                    case SafeTensorsDType.I64:
                        BinaryPrimitives.WriteInt64LittleEndian(span[(8 * i)..], longs![j]);
                        break;
                }
            }
            stream.Write(span);
        }
    }
}
