using System.Text;

namespace MechTests.Models.Tokenizers;

/// <summary>
/// GPT-2's reversible map between the 256 byte values and 256 printable characters, so that byte-level BPE can
/// treat any UTF-8 text as a string of "characters" without control or whitespace characters in the vocabulary.
/// Printable bytes stand for themselves; the other 68 are shifted, in byte order, to U+0100 and up
/// (so the space byte 0x20 becomes 'Ġ' U+0120 and '\n' becomes 'Ċ' U+010A).
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>The character standing for each byte value.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    // Every mapped character is below U+0144, so a small array inverts the map.
    private static readonly short[] s_charToByte = BuildCharToByte();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(0x100 + shifted++);
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var inverse = new short[0x144];
        Array.Fill(inverse, (short)-1);
        for (int b = 0; b < 256; b++) inverse[ByteToChar[b]] = (short)b;
        return inverse;
    }

    /// <summary>The byte a character stands for, or -1 when it is not in the alphabet.</summary>
    public static int CharToByte(char c) => c < s_charToByte.Length ? s_charToByte[c] : -1;

    /// <summary>Maps UTF-8 bytes to their alphabet characters (the form vocabulary strings are written in).</summary>
    public static string FromBytes(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = bytes.Length <= 512 ? stackalloc char[bytes.Length] : new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Maps text to the alphabet form of its UTF-8 bytes, e.g. " world" → "Ġworld".</summary>
    public static string FromText(string text) => FromBytes(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// The bytes a vocabulary string stands for. Like Hugging Face's ByteLevel decoder, a string containing a
    /// character outside the alphabet (e.g. an added token such as a run of real spaces) stands for its own UTF-8.
    /// </summary>
    public static byte[] ToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            int b = CharToByte(token[i]);
            if (b < 0) return Encoding.UTF8.GetBytes(token);
            bytes[i] = (byte)b;
        }
        return bytes;
    }
}
