using System.Text;
using MechTests.TorchSharp.Backend;

namespace MechTests.TorchSharp.Tests;

/// <summary>
/// Item 7: TorchSharp 0.107.0's libLibTorchSharp.so declares GLIBCXX_3.4.32, which Debian 12 / Ubuntu 22.04 lack. The
/// build (build/MechTests.TorchSharp.targets) patches the copy in bin/ only. These tests read the ELF version needs
/// with their own reader (not the patch code) and check that TorchSharp runs.
/// </summary>
public class LoadingOnLinuxTests
{
    private static string OutputLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void TheOutputCopyNeedsOnlyVersionsThisSystemsLibStdCxxHas()
    {
        if (!OperatingSystem.IsLinux()) return;
        var needs = VersionNeeds(File.ReadAllBytes(OutputLibrary));
        Assert.Contains(needs, n => n.File == "libstdc++.so.6" && n.Version.StartsWith("GLIBCXX_", StringComparison.Ordinal));
        var libstdcxx = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.First(File.Exists);
        string provided = Encoding.ASCII.GetString(File.ReadAllBytes(libstdcxx));
        foreach (var (file, version) in needs.Where(n => n.File == "libstdc++.so.6"))
            Assert.True(provided.Contains(version + "\0", StringComparison.Ordinal), $"libLibTorchSharp.so in bin/ needs {version}, which {libstdcxx} lacks: the build did not patch it.");
    }

    [Fact]
    public void TheNuGetCacheCopyIsNeverChanged()
    {
        if (!OperatingSystem.IsLinux()) return;
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string original = Path.Combine(cache, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(original), $"expected the restored package at {original}");
        var needs = VersionNeeds(File.ReadAllBytes(original));
        Assert.Contains(("libstdc++.so.6", "GLIBCXX_3.4.32"), needs);
        // The output copy differs from it only in that one requirement (8 bytes: vna_hash and vna_name, or the name).
        var a = File.ReadAllBytes(original);
        var b = File.ReadAllBytes(OutputLibrary);
        Assert.Equal(a.Length, b.Length);
        int differing = a.Zip(b).Count(x => x.First != x.Second);
        Assert.InRange(differing, 0, 8);
    }

    [Fact]
    public void TorchSharpRunsAndNamesTheMissingCudaWhenAskedForIt()
    {
        TorchRuntime.EnsureLoaded();
        using var x = global::TorchSharp.torch.arange(4, dtype: global::TorchSharp.torch.ScalarType.Float32);
        Assert.Equal(6f, x.sum().item<float>());
        if (global::TorchSharp.torch.cuda.is_available()) return;
        var e = Assert.Throws<InvalidOperationException>(() => TorchRuntime.ResolveDevice("cuda"));
        Assert.Contains("CUDA is not available", e.Message);
        Assert.Contains("TorchSharp-cuda-linux", e.Message);
        var bad = Assert.Throws<ArgumentException>(() => TorchSharpOptions.Parse("gpu"));
        Assert.Contains("--device 'gpu'", bad.Message);
    }

    /// <summary>(file, version) pairs from .gnu.version_r of a 64-bit little-endian ELF file.</summary>
    internal static List<(string File, string Version)> VersionNeeds(byte[] elf)
    {
        ulong U64(long at) => BitConverter.ToUInt64(elf, (int)at);
        uint U32(long at) => BitConverter.ToUInt32(elf, (int)at);
        ushort U16(long at) => BitConverter.ToUInt16(elf, (int)at);
        long shoff = (long)U64(0x28);
        int shentsize = U16(0x3A), shnum = U16(0x3C);
        var result = new List<(string, string)>();
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (U32(sh + 4) != 0x6ffffffe) continue;
            long off = (long)U64(sh + 0x18);
            long str = (long)U64(shoff + (long)U32(sh + 0x28) * shentsize + 0x18);
            string S(long at) { int end = (int)at; while (elf[end] != 0) end++; return Encoding.ASCII.GetString(elf, (int)at, end - (int)at); }
            long vn = off;
            for (int v = 0; v < U32(sh + 0x2C); v++)
            {
                string file = S(str + U32(vn + 4));
                long aux = vn + U32(vn + 8);
                for (int a = 0; a < U16(vn + 2); a++)
                {
                    result.Add((file, S(str + U32(aux + 8))));
                    aux += U32(aux + 12);
                }
                vn += U32(vn + 12);
            }
        }
        return result;
    }
}
