using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using System.Numerics.Tensors;

namespace MechTests.Models.Loading;

/// <summary>One tensor's entry in a safetensors header, already validated against the file.</summary>
/// <param name="Name">Tensor name as written in the header.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions (empty for a scalar).</param>
/// <param name="Begin">First byte, relative to the start of the data buffer.</param>
/// <param name="End">One past the last byte, relative to the start of the data buffer.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End)
{
    /// <summary>Product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount => SafeTensorsFile.CountOf(Shape);

    /// <summary>Number of bytes in the data buffer.</summary>
    public long ByteCount => End - Begin;

    /// <summary>Whether the shape equals <paramref name="shape"/> exactly.</summary>
    public bool HasShape(ReadOnlySpan<int> shape) => Shape.AsSpan().SequenceEqual(shape);
}

/// <summary>
/// A validated, read-on-demand view of a <c>.safetensors</c> file: an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON describing each tensor, then the data buffer. The whole header is checked when the file is opened, so
/// every later read is known to lie inside the file and inside its own tensor. Tensor data is read straight from the
/// file into the destination arrays (no second copy of the file is kept); the file handle stays open until
/// <see cref="Dispose"/>.
/// </summary>
/// <remarks>Every problem is reported as an <see cref="InvalidDataException"/> whose message starts with the path and
/// names the tensor and what was expected versus found.</remarks>
/// <example><code>
/// using var st = SafeTensorsFile.Open("gpt2/model.safetensors");
/// float[] wte = st.GetTensor("wte.weight", 50257, 768);
/// </code></example>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the format's own limit); a bigger length means a corrupt or hostile file.</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    // Reads are chunked so a single span never exceeds int.MaxValue bytes and rented buffers stay small.
    private const int ChunkElements = 1 << 20;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, SafeTensorInfo> _byName;

    /// <summary>The path the file was opened with; every error message starts with it.</summary>
    public string Path { get; }

    /// <summary>Size of the JSON header in bytes (N).</summary>
    public long HeaderLength { get; }

    /// <summary>Absolute file offset of the data buffer (8 + N).</summary>
    public long DataStart { get; }

    /// <summary>Length of the data buffer in bytes.</summary>
    public long DataLength { get; }

    /// <summary>The <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>All tensors, ordered by their position in the data buffer.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>All tensor names, in data-buffer order.</summary>
    public IEnumerable<string> Names => Tensors.Select(t => t.Name);

    private SafeTensorsFile(string path, SafeFileHandle handle, long headerLength, long dataLength,
        Dictionary<string, string> metadata, List<SafeTensorInfo> tensors)
    {
        Path = path;
        _handle = handle;
        HeaderLength = headerLength;
        DataStart = 8 + headerLength;
        DataLength = dataLength;
        Metadata = metadata;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="InvalidDataException"/> on any flaw.</summary>
    /// <example><code>
    /// using var st = SafeTensorsFile.Open("model.safetensors");
    /// foreach (var t in st.Tensors) Console.WriteLine($"{t.Name} {t.DType} [{string.Join(", ", t.Shape)}]");
    /// </code></example>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8)
                throw Error(path, $"file is {fileLength} bytes, too short to hold the 8-byte header length");

            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, prefix, 0, path);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (n == 0)
                throw Error(path, "header length is 0; expected a JSON object");
            if (n > MaxHeaderBytes)
                throw Error(path, $"header length {n} bytes exceeds the {MaxHeaderBytes}-byte limit (corrupt file?)");
            if ((long)n > fileLength - 8)
                throw Error(path, $"header length {n} bytes runs past the end of the file ({fileLength} bytes, " +
                    $"so at most {fileLength - 8} header bytes)");

            long headerLength = (long)n;
            long dataLength = fileLength - 8 - headerLength;
            var header = new byte[headerLength];
            ReadExactly(handle, header, 8, path);
            var (metadata, tensors) = ParseHeader(path, header, dataLength);
            return new SafeTensorsFile(path, handle, headerLength, dataLength, metadata, tensors);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Whether a tensor named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The entry for <paramref name="name"/>; throws naming the file and tensor if it is missing.</summary>
    public SafeTensorInfo Info(string name) =>
        _byName.TryGetValue(name, out var info) ? info : throw Error(Path, $"tensor '{name}' is missing");

    /// <summary>Checks that <paramref name="name"/> exists with exactly <paramref name="shape"/> and returns its entry.</summary>
    /// <example><code>st.Expect("h.0.attn.c_attn.weight", 768, 2304);</code></example>
    public SafeTensorInfo Expect(string name, params int[] shape)
    {
        var info = Info(name);
        if (!info.HasShape(shape))
            throw Error(Path, $"tensor '{name}' has shape {FormatShape(info.Shape)}, expected {FormatShape(shape)}");
        return info;
    }

    /// <summary>Reads a float tensor (F32, F16, BF16 or F64) as float32, whatever its shape.</summary>
    public float[] GetTensor(string name) => ReadFloats(Info(name));

    /// <summary>Reads a float tensor (F32, F16, BF16 or F64) as float32 after checking its shape is exactly <paramref name="expectedShape"/>.</summary>
    /// <example><code>float[] wpe = st.GetTensor("wpe.weight", 1024, 768);</code></example>
    public float[] GetTensor(string name, params int[] expectedShape) => ReadFloats(Expect(name, expectedShape));

    /// <summary>Reads a float tensor into <paramref name="destination"/>, whose length must equal its element count.</summary>
    public void ReadInto(SafeTensorInfo info, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (destination.Length != info.ElementCount)
            throw new ArgumentException($"{Path}: tensor '{info.Name}' has {info.ElementCount} elements but the destination holds {destination.Length}.", nameof(destination));
        ReadRange(info, 0, destination);
    }

    /// <summary>
    /// Reads <c>destination.Length</c> elements of a float tensor starting at flat index <paramref name="firstElement"/>,
    /// converting to float32; lets callers split or compare large tensors without a full-size temporary.
    /// </summary>
    public void ReadRange(SafeTensorInfo info, long firstElement, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(info);
        CheckOwned(info);
        if (!info.DType.IsFloat())
            throw Error(Path, $"tensor '{info.Name}' has dtype {info.DType}, expected a float dtype (F32, F16, BF16, F64)");
        if (firstElement < 0 || firstElement + destination.Length > info.ElementCount)
            throw new ArgumentOutOfRangeException(nameof(firstElement),
                $"{Path}: elements {firstElement}..{firstElement + destination.Length} are outside tensor '{info.Name}' ({info.ElementCount} elements).");

        int size = info.DType.SizeOf();
        long offset = DataStart + info.Begin + firstElement * size;
        if (info.DType == SafeTensorsDType.F32)
        {
            for (int start = 0; start < destination.Length; start += ChunkElements)
            {
                var chunk = destination.Slice(start, Math.Min(ChunkElements, destination.Length - start));
                ReadExactly(_handle, MemoryMarshal.AsBytes(chunk), offset + (long)start * 4, Path);
                if (!BitConverter.IsLittleEndian)
                {
                    var ints = MemoryMarshal.Cast<float, int>(chunk);
                    BinaryPrimitives.ReverseEndianness(ints, ints);
                }
            }
            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(ChunkElements, destination.Length) * size);
        try
        {
            for (int start = 0; start < destination.Length; start += ChunkElements)
            {
                int count = Math.Min(ChunkElements, destination.Length - start);
                var bytes = buffer.AsSpan(0, count * size);
                ReadExactly(_handle, bytes, offset + (long)start * size, Path);
                var dst = destination.Slice(start, count);
                if (info.DType == SafeTensorsDType.F16 && BitConverter.IsLittleEndian)
                    TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), dst);
                else if (info.DType == SafeTensorsDType.F16)
                    for (int i = 0; i < count; i++)
                        dst[i] = SafeTensorsDTypes.HalfToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]));
                else if (info.DType == SafeTensorsDType.F64)
                    for (int i = 0; i < count; i++)
                        dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                else
                    for (int i = 0; i < count; i++)
                        dst[i] = SafeTensorsDTypes.BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads an I32 tensor; <paramref name="expectedShape"/>, when given, must match exactly.</summary>
    public int[] GetInt32(string name, int[]? expectedShape = null)
    {
        var info = expectedShape is null ? Info(name) : Expect(name, expectedShape);
        RequireDType(info, SafeTensorsDType.I32);
        var result = new int[CheckedLength(info)];
        ReadInts(info, MemoryMarshal.AsBytes(result.AsSpan()));
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(result, result);
        return result;
    }

    /// <summary>Reads an I64 tensor; <paramref name="expectedShape"/>, when given, must match exactly.</summary>
    public long[] GetInt64(string name, int[]? expectedShape = null)
    {
        var info = expectedShape is null ? Info(name) : Expect(name, expectedShape);
        RequireDType(info, SafeTensorsDType.I64);
        var result = new long[CheckedLength(info)];
        ReadInts(info, MemoryMarshal.AsBytes(result.AsSpan()));
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(result, result);
        return result;
    }

    /// <summary>Closes the file handle.</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>Formats a shape as <c>[a, b]</c>, the form used in error messages.</summary>
    public static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    internal static long CountOf(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape) count = checked(count * d);
        return count;
    }

    private float[] ReadFloats(SafeTensorInfo info)
    {
        if (!info.DType.IsFloat())
            throw Error(Path, $"tensor '{info.Name}' has dtype {info.DType}, expected a float dtype (F32, F16, BF16, F64)");
        var result = new float[CheckedLength(info)];
        ReadInto(info, result);
        return result;
    }

    private void ReadInts(SafeTensorInfo info, Span<byte> destination)
    {
        // Integer tensors are small (token ids, positions), so one read is fine.
        ReadExactly(_handle, destination, DataStart + info.Begin, Path);
    }

    private int CheckedLength(SafeTensorInfo info)
    {
        long count = info.ElementCount;
        if (count > Array.MaxLength)
            throw Error(Path, $"tensor '{info.Name}' has {count} elements, more than one array can hold ({Array.MaxLength})");
        return (int)count;
    }

    private void RequireDType(SafeTensorInfo info, SafeTensorsDType dtype)
    {
        if (info.DType != dtype)
            throw Error(Path, $"tensor '{info.Name}' has dtype {info.DType}, expected {dtype}");
    }

    private void CheckOwned(SafeTensorInfo info)
    {
        if (!_byName.TryGetValue(info.Name, out var own) || !ReferenceEquals(own, info))
            throw new ArgumentException($"{Path}: tensor entry '{info.Name}' does not belong to this file.", nameof(info));
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset, string path)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(handle, destination, offset);
            // The length was validated at open, so a short read means the file shrank underneath us.
            if (read <= 0) throw Error(path, $"unexpected end of file at byte {offset}");
            destination = destination[read..];
            offset += read;
        }
    }

    private static InvalidDataException Error(string path, string message) => new($"{path}: {message}");

    private static (Dictionary<string, string>, List<SafeTensorInfo>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        Utf8Input.RequireJson(header, path, "the header", baseOffset: 8);
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: header is not valid JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Error(path, $"header must be a JSON object, found {root.ValueKind}");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorInfo>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var prop in root.EnumerateObject())
            {
                string name = prop.Name;
                if (name == "__metadata__")
                {
                    if (sawMetadata) throw Error(path, "'__metadata__' appears twice in the header");
                    sawMetadata = true;
                    ParseMetadata(path, prop.Value, metadata);
                    continue;
                }
                if (!seen.Add(name))
                    throw Error(path, $"tensor '{name}' appears twice in the header");
                tensors.Add(ParseEntry(path, name, prop.Value, dataLength));
            }

            // Sorting by offset makes the overlap and gap checks a single pass.
            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            CheckNoOverlap(path, tensors);
            CheckNoGaps(path, tensors, dataLength);
            return (metadata, tensors);
        }
    }

    // The format requires the data buffer to be entirely indexed, without holes (the reference implementation rejects
    // both); bytes no tensor owns mean a wrong offset or a damaged file.
    private static void CheckNoGaps(string path, List<SafeTensorInfo> sorted, long dataLength)
    {
        long covered = 0;
        foreach (var t in sorted)
        {
            if (t.ByteCount == 0) continue;
            if (t.Begin > covered)
                throw Error(path, $"bytes {covered}..{t.Begin} of the data buffer belong to no tensor (before '{t.Name}'); the format allows no gaps");
            covered = Math.Max(covered, t.End);
        }
        if (covered != dataLength)
            throw Error(path, $"bytes {covered}..{dataLength} at the end of the data buffer belong to no tensor; the format allows no gaps");
    }

    // Compares each tensor with the furthest-reaching earlier one; empty tensors occupy no bytes and are skipped.
    private static void CheckNoOverlap(string path, List<SafeTensorInfo> sorted)
    {
        SafeTensorInfo? furthest = null;
        foreach (var t in sorted)
        {
            if (t.ByteCount == 0) continue;
            if (furthest != null && t.Begin < furthest.End)
                throw Error(path, $"tensors '{furthest.Name}' (bytes {furthest.Begin}..{furthest.End}) and '{t.Name}' " +
                    $"(bytes {t.Begin}..{t.End}) overlap");
            if (furthest == null || t.End > furthest.End) furthest = t;
        }
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Error(path, $"'__metadata__' must be an object of strings, found {value.ValueKind}");
        foreach (var kv in value.EnumerateObject())
        {
            if (kv.Value.ValueKind != JsonValueKind.String)
                throw Error(path, $"'__metadata__' key '{kv.Name}' must be a string, found {kv.Value.ValueKind}");
            metadata[kv.Name] = kv.Value.GetString()!;
        }
    }

    private static SafeTensorInfo ParseEntry(string path, string name, JsonElement entry, long dataLength)
    {
        string Where() => $"tensor '{name}'";
        if (entry.ValueKind != JsonValueKind.Object)
            throw Error(path, $"{Where()} header entry must be an object, found {entry.ValueKind}");

        if (!entry.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw Error(path, $"{Where()} has no 'dtype' string");
        string? dtypeText = dtypeEl.GetString();
        if (!SafeTensorsDTypes.TryParse(dtypeText, out var dtype))
            throw Error(path, $"{Where()} has unsupported dtype '{dtypeText}', expected one of {SafeTensorsDTypes.SupportedList}");

        if (!entry.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw Error(path, $"{Where()} has no 'shape' array");
        var shape = new int[shapeEl.GetArrayLength()];
        int k = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw Error(path, $"{Where()} has shape {Clip(shapeEl.GetRawText())}, expected non-negative integers");
            shape[k++] = dim;
        }

        if (!entry.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array ||
            offEl.GetArrayLength() != 2)
            throw Error(path, $"{Where()} has no 'data_offsets' [begin, end] pair");
        var offsets = new long[2];
        k = 0;
        foreach (var o in offEl.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out long v) || v < 0)
                throw Error(path, $"{Where()} has data_offsets {Clip(offEl.GetRawText())}, expected non-negative integers");
            offsets[k++] = v;
        }
        long begin = offsets[0], end = offsets[1];
        if (begin > end)
            throw Error(path, $"{Where()} has data_offsets [{begin}, {end}] with begin after end");
        if (end > dataLength)
            throw Error(path, $"{Where()} has data_offsets [{begin}, {end}] past the end of the {dataLength}-byte data buffer");

        long expectedBytes;
        try
        {
            expectedBytes = checked(CountOf(shape) * dtype.SizeOf());
        }
        catch (OverflowException)
        {
            throw Error(path, $"{Where()} has shape {FormatShape(shape)}, too many elements");
        }
        if (end - begin != expectedBytes)
            throw Error(path, $"{Where()} has {end - begin} bytes (data_offsets [{begin}, {end}]), expected " +
                $"{expectedBytes} for shape {FormatShape(shape)} of {dtype} ({dtype.SizeOf()} bytes each)");

        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    private static string Clip(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
