// Compiled by MSBuild's RoslynCodeTaskFactory (see MechTests.TorchSharp.targets): no task assembly to ship or load.
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32 (libstdc++ of GCC 13) through one
// symbol, std::ios_base_library_init(), which it references but never relocates or calls. Debian 12 and Ubuntu 22.04
// ship libstdc++ up to GLIBCXX_3.4.30, so the loader refuses the library and TorchSharp reports a missing libtorch.
// Renaming that one version requirement in .gnu.version_r to GLIBCXX_3.4.30 (name and vna_hash) lets it load. Only
// the copy in the build output is changed (copy-on-write: a hard link into the NuGet cache is replaced, never written).
// RoslynCodeTaskFactory compiles against netstandard2.0: no spans, no nullable annotations.
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class GlibcxxVersionPatch : Task
{
    private const string Needed = "GLIBCXX_3.4.32";
    private const string Replacement = "GLIBCXX_3.4.30";

    /// <summary>The build output folder to search for libLibTorchSharp.so.</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    /// <summary>auto (patch only where the system libstdc++ lacks GLIBCXX_3.4.32), always, or false.</summary>
    public string Mode { get; set; } = "auto";

    /// <summary>libstdc++ to inspect; empty: the usual Linux locations.</summary>
    public string LibStdCxxPath { get; set; } = "";

    /// <summary>The files patched (for tests and later targets).</summary>
    [Output]
    public ITaskItem[] Patched { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        string mode = (Mode ?? "auto").Trim().ToLowerInvariant();
        if (mode is "false" or "off" or "no" or "0") return true;
        if (mode is not ("auto" or "always" or "true"))
        {
            Log.LogError("MechTestsPatchLibStdCxx = '" + Mode + "': expected auto, always or false.");
            return false;
        }
        if (!Directory.Exists(OutputDirectory)) return true;
        if (mode == "auto")
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return true;
            var libstdcxx = FindLibStdCxx();
            if (libstdcxx == null)
            {
                Log.LogMessage(MessageImportance.Normal, "MechTests.TorchSharp: no libstdc++.so.6 found; libLibTorchSharp.so left unchanged.");
                return true;
            }
            if (Contains(File.ReadAllBytes(libstdcxx), Encoding.ASCII.GetBytes(Needed + "\0"))) return true;
        }
        var patched = new System.Collections.Generic.List<ITaskItem>();
        foreach (var file in Directory.EnumerateFiles(OutputDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories))
        {
            try
            {
                var bytes = File.ReadAllBytes(file);
                string what = PatchVersionNeed(bytes);
                if (what == null) continue;
                // Copy-on-write: the output file may be a hard link into the NuGet cache; write a new file and move it over.
                string tmp = file + ".mechtests-tmp";
                File.WriteAllBytes(tmp, bytes);
                File.Delete(file);
                File.Move(tmp, file);
                Log.LogMessage(MessageImportance.High,
                    $"MechTests.TorchSharp: patched {file}: its need for {Needed} (only std::ios_base_library_init, never called) now reads {Replacement}, " +
                    "which this system's libstdc++ provides. The NuGet cache is untouched. Opt out with -p:MechTestsPatchLibStdCxx=false.");
                patched.Add(new TaskItem(file));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Log.LogWarning($"MechTests.TorchSharp: could not patch {file}: {e.Message}");
            }
        }
        Patched = patched.ToArray();
        return !Log.HasLoggedErrors;
    }

    private string FindLibStdCxx()
    {
        if (!string.IsNullOrEmpty(LibStdCxxPath)) return File.Exists(LibStdCxxPath) ? LibStdCxxPath : null;
        string[] dirs = { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" };
        return dirs.Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);
    }

    private static bool Contains(byte[] haystack, byte[] needle) => IndexOf(haystack, needle, 0, haystack.Length) >= 0;

    private static int IndexOf(byte[] haystack, byte[] needle, int start, int length)
    {
        for (int i = start; i + needle.Length <= start + length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i - start;
        }
        return -1;
    }

    /// <summary>
    /// Rewrites the .gnu.version_r auxiliary entry that names GLIBCXX_3.4.32 to name GLIBCXX_3.4.30 (an existing
    /// .dynstr string when there is one, else the old string in place: both are 14 bytes) and its vna_hash. Returns a
    /// description, or null when the file has no such need (already patched, or another build).
    /// </summary>
    public static string PatchVersionNeed(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("not a 64-bit little-endian ELF file");
        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != 0x6ffffffe) continue; // SHT_GNU_verneed
            long off = (long)BitConverter.ToUInt64(elf, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 0x28);
            int count = (int)BitConverter.ToUInt32(elf, (int)sh + 0x2C);
            long strSh = shoff + (long)link * shentsize;
            long strOff = (long)BitConverter.ToUInt64(elf, (int)strSh + 0x18);
            long strSize = (long)BitConverter.ToUInt64(elf, (int)strSh + 0x20);
            int existing = IndexOf(elf, Encoding.ASCII.GetBytes("\0" + Replacement + "\0"), (int)strOff, (int)strSize);
            long vn = off;
            for (int v = 0; v < count; v++)
            {
                int cnt = BitConverter.ToUInt16(elf, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    int name = (int)BitConverter.ToUInt32(elf, (int)aux + 8);
                    if (ReadString(elf, (int)strOff, (int)strSize, name) == Needed)
                    {
                        if (existing >= 0) BitConverter.GetBytes((uint)(existing + 1)).CopyTo(elf, (int)aux + 8);
                        else Encoding.ASCII.GetBytes(Replacement).CopyTo(elf, (int)(strOff + name));
                        BitConverter.GetBytes(ElfHash(Replacement)).CopyTo(elf, (int)aux);
                        return $"{Needed} → {Replacement}";
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                vn += BitConverter.ToUInt32(elf, (int)vn + 12);
            }
        }
        return null;
    }

    private static string ReadString(byte[] elf, int tableOff, int tableSize, int at)
    {
        if (at < 0 || at >= tableSize) return "";
        int end = tableOff + at;
        while (end < tableOff + tableSize && elf[end] != 0) end++;
        return Encoding.ASCII.GetString(elf, tableOff + at, end - tableOff - at);
    }

    /// <summary>The System V ABI ELF hash used for vna_hash.</summary>
    public static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (char c in name)
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }
}
