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

    /// <summary>
    /// Where the first JSON string escape <c>\uD800</c>–<c>\uDFFF</c> that is not half of a surrogate pair starts
    /// (offset, line, column), or null. System.Text.Json parses such text but throws InvalidOperationException
    /// ("incomplete UTF-16") when the string is read, naming no file; readers check for it up front instead.
    /// </summary>
    public static (long Offset, int Line, int Column)? FirstLoneSurrogateEscape(ReadOnlySpan<byte> json)
    {
        bool inString = false;
        int line = 1, lineStart = 0;
        for (int i = 0; i < json.Length; i++)
        {
            byte b = json[i];
            if (b == (byte)'\n')
            {
                line++;
                lineStart = i + 1;
            }
            if (!inString)
            {
                inString = b == (byte)'"';
                continue;
            }
            if (b == (byte)'"') inString = false;
            else if (b == (byte)'\\' && i + 1 < json.Length)
            {
                if (json[i + 1] == (byte)'u' && Hex4(json, i + 2) is int unit and >= 0xD800 and <= 0xDFFF)
                {
                    bool paired = unit <= 0xDBFF && i + 11 < json.Length && json[i + 6] == (byte)'\\' && json[i + 7] == (byte)'u'
                                  && Hex4(json, i + 8) is >= 0xDC00 and <= 0xDFFF;
                    if (!paired) return (i, line, System.Text.Encoding.UTF8.GetCharCount(json[lineStart..i]) + 1);
                    i += 11;
                    continue;
                }
                i++; // skip the escaped character (\" or \\)
            }
        }
        return null;
    }

    private static int? Hex4(ReadOnlySpan<byte> s, int at)
    {
        if (at + 4 > s.Length) return null;
        int v = 0;
        for (int k = 0; k < 4; k++)
        {
            int d = HexDigit(s[at + k]);
            if (d < 0) return null;
            v = v * 16 + d;
        }
        return v;
    }

    private static int HexDigit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> naming the file when JSON bytes are not UTF-8 or hold an unpaired
    /// surrogate escape (which no string can be decoded from).
    /// </summary>
    public static void RequireJson(ReadOnlySpan<byte> json, string file, string what = "", long baseOffset = 0)
    {
        Require(json, file, what, baseOffset);
        if (FirstLoneSurrogateEscape(json) is var (offset, line, column))
            throw new InvalidDataException($"{file}: {(what.Length > 0 ? what + ": " : "")}a \\u escape at byte {baseOffset + offset} (line {line}, column {column}) is half of a UTF-16 surrogate pair; no string can hold it.");
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
