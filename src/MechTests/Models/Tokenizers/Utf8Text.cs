using System.Text;

namespace MechTests.Models.Tokenizers;

/// <summary>UTF-8 helpers for decoding tokens whose bytes can split a character.</summary>
internal static class Utf8Text
{
    /// <summary>
    /// Where the trailing, not yet complete, UTF-8 sequence of <paramref name="bytes"/> starts; bytes.Length when the
    /// bytes end on a character boundary (or end in bytes whose lead byte is not among them: nothing to complete).
    /// </summary>
    public static int IncompleteTailStart(ReadOnlySpan<byte> bytes)
    {
        for (int back = 1; back <= Math.Min(3, bytes.Length); back++)
        {
            byte b = bytes[^back];
            if ((b & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
            int needed = b switch { >= 0xC2 and <= 0xDF => 2, >= 0xE0 and <= 0xEF => 3, >= 0xF0 and <= 0xF4 => 4, _ => 1 };
            return needed > back ? bytes.Length - back : bytes.Length;
        }
        return bytes.Length;
    }

    /// <summary>
    /// The text contributed by <paramref name="current"/> in a stream after <paramref name="previous"/>: an
    /// unfinished character at the end of <paramref name="previous"/> is completed here, and an unfinished one at
    /// the end of <paramref name="current"/> is left for the next token. Exact for characters spread over at most
    /// two tokens; longer spreads need the whole history (see <see cref="TokenStreamDecoder"/>).
    /// </summary>
    public static string DecodeStreamed(ReadOnlySpan<byte> previous, ReadOnlySpan<byte> current)
    {
        ReadOnlySpan<byte> carry = previous[IncompleteTailStart(previous)..];
        if (carry.IsEmpty) return Encoding.UTF8.GetString(current[..IncompleteTailStart(current)]);
        var combined = new byte[carry.Length + current.Length];
        carry.CopyTo(combined);
        current.CopyTo(combined.AsSpan(carry.Length));
        return Encoding.UTF8.GetString(combined, 0, IncompleteTailStart(combined));
    }
}
