using System.Text;

namespace MechTests;

/// <summary>
/// Checks that bytes from a file are UTF-8 before a reader decodes them. System.Text.Json reports invalid UTF-8 as
/// "Cannot transcode invalid UTF-8 JSON text" with no file, and <see cref="Encoding.UTF8"/> silently replaces it with
/// U+FFFD; both hide a file saved in the wrong encoding. The error names the file, byte offset, line and column.
/// </summary>
internal static class Utf8Input
{
    /// <summary>Where the first invalid sequence starts (0-based byte offset, 1-based line and column), or null when valid.</summary>
    public static (long Offset, int Line, int Column)? FirstInvalid(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return null;
        int line = 1, column = 1;
        for (int i = 0; i < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out int used) != System.Buffers.OperationStatus.Done) return (i, line, column);
            if (bytes[i] == (byte)'\n')
            {
                line++;
                column = 1;
            }
            else column++;
            i += used;
        }
        return null;
    }

    /// <summary>The message for invalid UTF-8 in <paramref name="file"/> (<paramref name="what"/> e.g. "header"), or null when valid.</summary>
    public static string? Problem(ReadOnlySpan<byte> bytes, string file, string what = "", long baseOffset = 0)
        => FirstInvalid(bytes) is var (offset, line, column)
            ? $"{file}: {(what.Length > 0 ? what + " is" : "")}{(what.Length > 0 ? " " : "")}not valid UTF-8 at byte {baseOffset + offset} (line {line}, column {column}); save it as UTF-8."
            : null;

    /// <summary>Throws <see cref="InvalidDataException"/> naming the file when <paramref name="bytes"/> are not UTF-8.</summary>
    public static void Require(ReadOnlySpan<byte> bytes, string file, string what = "", long baseOffset = 0)
    {
        if (Problem(bytes, file, what, baseOffset) is { } message) throw new InvalidDataException(message);
    }

    /// <summary>Decodes after <see cref="Require"/> (a UTF-8 byte-order mark is skipped).</summary>
    public static string Decode(byte[] bytes, string file)
    {
        Require(bytes, file);
        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        return Encoding.UTF8.GetString(bytes, start, bytes.Length - start);
    }
}
