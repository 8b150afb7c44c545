using System.Text;

namespace MechTests.Circuits;

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

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* best effort: a leftover temp file is harmless and ignored by readers */ }
        catch (UnauthorizedAccessException) { }
    }
}
