using System.Text;

namespace MechTests;

/// <summary>
/// Writes files so that readers see either the old content or the complete new content, never a torn file: the
/// content goes to a temporary file in the same folder (same volume, so the rename is atomic), is flushed to disk,
/// then renamed over the target. If writing fails the temporary file is deleted and the target is untouched.
/// </summary>
/// <example><code>
/// AtomicFile.WriteAllText("circuits/ioi.verified.json", file.ToJson());
/// </code></example>
public static class AtomicFile
{
    /// <summary>Writes UTF-8 text (no BOM) atomically.</summary>
    public static void WriteAllText(string path, string text)
        => Write(path, stream =>
        {
            var bytes = new UTF8Encoding(false).GetBytes(text);
            stream.Write(bytes, 0, bytes.Length);
        });

    /// <summary>
    /// Lets <paramref name="write"/> fill a temporary stream, then atomically replaces <paramref name="path"/> with it.
    /// An exception from <paramref name="write"/> propagates and leaves <paramref name="path"/> as it was.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(folder);
        RemoveStaleTemps(full);
        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Throws <see cref="IOException"/> (one line, naming the path) when <paramref name="path"/> cannot be written: an
    /// existing folder, a missing or read-only folder. Commands call it before computing, so a long run is not lost
    /// to a destination that was never writable. Disk-full can still happen later; then the target is untouched.
    /// </summary>
    public static void CheckWritable(string path, string what = "output")
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"{what} '{path}' is a folder; expected a file name.");
        string folder = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{what} '{path}': folder '{folder}' does not exist.");
        string probe = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{what} '{path}' cannot be written: {e.Message}", e);
        }
    }

    // A process killed between creating its temporary file and the rename leaves .NAME.PID.GUID.tmp behind; the next
    // write of NAME removes those whose process is gone (the names are also git-ignored).
    private static void RemoveStaleTemps(string full)
    {
        string folder = Path.GetDirectoryName(full) ?? ".", prefix = $".{Path.GetFileName(full)}.";
        IEnumerable<string> temps;
        try { temps = Directory.EnumerateFiles(folder, prefix + "*.tmp").ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        foreach (string temp in temps)
        {
            string[] parts = Path.GetFileName(temp)[prefix.Length..].Split('.');
            if (parts.Length == 3 && int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out int pid) && pid != Environment.ProcessId && !IsRunning(pid))
                TryDelete(temp);
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* best effort: a leftover temp file is harmless and ignored by readers */ }
        catch (UnauthorizedAccessException) { }
    }
}
