using System.Buffers.Binary;
using System.Text;

namespace MechTests.Tests.Loading;

/// <summary>Helpers shared by the loading tests: repo paths, temp folders, raw file builders.</summary>
internal static class LoadingTestSupport
{
    // Private to these tests on purpose: a shared TestPaths helper is being written elsewhere.
    public static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MechTests.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"MechTests.sln not found above {AppContext.BaseDirectory}.");
    }

    public static string Stories260KPath => Path.Combine(FindRepoRoot(), "models", "stories260K", "stories260K.bin");

    /// <summary>Writes a safetensors file with an arbitrary (possibly broken) header and data.</summary>
    public static void WriteRawSafeTensors(string path, string headerJson, byte[] data, ulong? headerLength = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        using var fs = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, headerLength ?? (ulong)header.Length);
        fs.Write(prefix);
        fs.Write(header);
        fs.Write(data);
    }

    /// <summary>Deterministic pseudo-random floats, distinct enough that a misplaced element is caught.</summary>
    public static float[] Pattern(int seed, int count)
    {
        var rng = new Random(seed);
        var a = new float[count];
        for (int i = 0; i < count; i++) a[i] = (float)Math.Round(rng.NextDouble() * 4 - 2, 4);
        return a;
    }

    public static int Bits(float f) => BitConverter.SingleToInt32Bits(f);
}

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("mechtests-load-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
