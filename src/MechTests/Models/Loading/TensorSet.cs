using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MechTests.Models.Loading;

/// <summary>
/// The tensors of a Hugging Face folder, from one <c>model.safetensors</c> or from the shards listed in
/// <c>model.safetensors.index.json</c>. Tracks which tensors were consumed so that leftovers (a sign of the wrong
/// architecture or a mis-named checkpoint) can be reported by name.
/// </summary>
internal sealed class TensorSet : IDisposable
{
    /// <summary>Name of the single-file checkpoint.</summary>
    public const string SingleFile = "model.safetensors";

    /// <summary>Name of the shard index.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    private readonly List<SafeTensorsFile> _files = [];
    private readonly Dictionary<string, SafeTensorsFile> _owner = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly List<Func<string, bool>> _ignored = [];

    /// <summary>The file reported for tensors that are missing (the checkpoint file or the index).</summary>
    public string Source { get; }

    /// <summary>The files that make up the checkpoint in hashing order: the single file, or the index then shards by name.</summary>
    public IReadOnlyList<string> Files { get; }

    private TensorSet(string source, IReadOnlyList<string> files)
    {
        Source = source;
        Files = files;
    }

    /// <summary>Opens the checkpoint in <paramref name="folder"/>, preferring <c>model.safetensors</c> over an index.</summary>
    public static TensorSet OpenFolder(string folder)
    {
        string single = System.IO.Path.Combine(folder, SingleFile);
        string index = System.IO.Path.Combine(folder, IndexFile);
        if (File.Exists(single))
        {
            var set = new TensorSet(single, [single]);
            set.AddFile(SafeTensorsFile.Open(single), null);
            return set;
        }
        if (File.Exists(index)) return OpenSharded(folder, index);

        string hint = Directory.EnumerateFiles(folder, "*.bin").Any() || File.Exists(System.IO.Path.Combine(folder, "pytorch_model.bin"))
            ? " (PyTorch .bin checkpoints are not supported; save the model with safetensors)"
            : "";
        throw new FileNotFoundException($"{folder}: neither {SingleFile} nor {IndexFile} found{hint}.", single);
    }

    private static TensorSet OpenSharded(string folder, string index)
    {
        Dictionary<string, string> map;
        try
        {
            byte[] bytes = File.ReadAllBytes(index);
            Utf8Input.RequireJson(bytes, index);
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object ||
                !doc.RootElement.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{index}: field 'weight_map' is missing or not an object.");
            map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in wm.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{index}: weight_map entry '{p.Name}' must be a file name string, found {p.Value.ValueKind}.");
                if (!map.TryAdd(p.Name, p.Value.GetString()!))
                    throw new InvalidDataException($"{index}: tensor '{p.Name}' appears twice in weight_map.");
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{index}: not valid JSON: {ex.Message}", ex);
        }

        // Shard names must be plain file names in the folder, so an index cannot point the loader elsewhere.
        var shards = map.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        foreach (var s in shards)
            if (s.Length == 0 || s != System.IO.Path.GetFileName(s) || s == "." || s == "..")
                throw new InvalidDataException($"{index}: shard '{s}' is not a plain file name in the model folder.");

        var files = new List<string> { index };
        files.AddRange(shards.Select(s => System.IO.Path.Combine(folder, s)));
        var set = new TensorSet(index, files);
        try
        {
            foreach (var shard in shards)
            {
                string shardPath = System.IO.Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                    throw new FileNotFoundException($"{index}: shard '{shard}' listed in weight_map does not exist.", shardPath);
                set.AddFile(SafeTensorsFile.Open(shardPath), (name, file) =>
                {
                    if (!map.TryGetValue(name, out var listed))
                        throw new InvalidDataException($"{file.Path}: tensor '{name}' is not listed in {IndexFile}.");
                    if (listed != shard)
                        throw new InvalidDataException($"{file.Path}: tensor '{name}' is listed in {IndexFile} under shard '{listed}'.");
                });
            }
            foreach (var (name, shard) in map)
                if (!set._owner.ContainsKey(name))
                    throw new InvalidDataException($"{System.IO.Path.Combine(folder, shard)}: tensor '{name}' is missing (listed in {IndexFile}).");
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    private void AddFile(SafeTensorsFile file, Action<string, SafeTensorsFile>? check)
    {
        _files.Add(file);
        foreach (var t in file.Tensors)
        {
            check?.Invoke(t.Name, file);
            if (!_owner.TryAdd(t.Name, file))
                throw new InvalidDataException($"{file.Path}: tensor '{t.Name}' also appears in {_owner[t.Name].Path}.");
        }
    }

    /// <summary>Whether the tensor exists.</summary>
    public bool Has(string name) => _owner.ContainsKey(name);

    /// <summary>Marks tensors matching <paramref name="predicate"/> as known-but-unused buffers (masks, inv_freq).</summary>
    public void Ignore(Func<string, bool> predicate) => _ignored.Add(predicate);

    /// <summary>Checks the tensor exists with exactly <paramref name="shape"/>, marks it used, and returns its file and entry.</summary>
    public (SafeTensorsFile File, SafeTensorInfo Info) Expect(string name, params int[] shape)
    {
        if (!_owner.TryGetValue(name, out var file))
            throw new InvalidDataException($"{Source}: tensor '{name}' is missing (expected shape {Layout.Shape(shape)}).");
        var info = file.Expect(name, shape);
        _used.Add(name);
        return (file, info);
    }

    // A NaN or ±Infinity weight makes every output garbage: refused as it is read, naming the file's tensor and the
    // element in file order (one vectorised pass; docs/reliability.md).
    internal static void RequireFinite(SafeTensorsFile file, string name, ReadOnlySpan<float> values)
    {
        if (WeightChecks.NonFinite(values) is { } problem)
            throw new InvalidDataException($"{file.Path}: tensor '{name}' has {problem}; every weight must be a finite number.");
    }

    /// <summary>Reads a tensor of exactly <paramref name="shape"/> as float32.</summary>
    public float[] Take(string name, params int[] shape)
    {
        var (file, info) = Expect(name, shape);
        var result = new float[info.ElementCount];
        file.ReadInto(info, result);
        RequireFinite(file, name, result);
        return result;
    }

    /// <summary>Reads an nn.Linear weight stored <c>[out, in]</c> and returns it transposed to <c>[in, out]</c>.</summary>
    public float[] TakeTransposed(string name, int rows, int cols)
    {
        var (file, info) = Expect(name, rows, cols);
        var result = new float[(long)rows * cols];
        float[] scratch = ArrayPool<float>.Shared.Rent(rows * cols);
        try
        {
            var src = scratch.AsSpan(0, rows * cols);
            file.ReadInto(info, src);
            RequireFinite(file, name, src);
            Layout.Transpose(src, rows, cols, result);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
        return result;
    }

    /// <summary>
    /// Whether tensor <paramref name="name"/> (expected <c>[rows, cols]</c>) is bit-for-bit equal to <paramref name="other"/>;
    /// compared in chunks so no full-size copy is made. Marks it used.
    /// </summary>
    public bool SameAs(string name, float[] other, int rows, int cols)
    {
        var (file, info) = Expect(name, rows, cols);
        const int chunk = 1 << 16;
        float[] buffer = ArrayPool<float>.Shared.Rent(chunk);
        try
        {
            for (long start = 0; start < other.LongLength; start += chunk)
            {
                int n = (int)Math.Min(chunk, other.LongLength - start);
                var span = buffer.AsSpan(0, n);
                file.ReadRange(info, start, span);
                if (!MemoryMarshal.Cast<float, int>(span).SequenceEqual(MemoryMarshal.Cast<float, int>(other.AsSpan((int)start, n))))
                    return false;
            }
            return true;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>Throws naming every tensor that was neither consumed nor ignored.</summary>
    public void EnsureAllUsed(string architecture)
    {
        var unknown = _owner.Keys.Where(n => !_used.Contains(n) && !_ignored.Any(p => p(n)))
            .Order(StringComparer.Ordinal).ToList();
        if (unknown.Count == 0) return;
        const int show = 10;
        string list = string.Join(", ", unknown.Take(show).Select(n => $"'{n}'"));
        string more = unknown.Count > show ? $" and {unknown.Count - show} more" : "";
        string where = _owner[unknown[0]].Path;
        throw new InvalidDataException($"{where}: {unknown.Count} unexpected tensor(s) for a {architecture} checkpoint: {list}{more}. " +
            "A strict loader rejects them because they usually mean the wrong architecture or a mis-converted file.");
    }

    /// <summary>Closes every file.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
