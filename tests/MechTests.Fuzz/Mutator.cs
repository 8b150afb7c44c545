using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace MechTests.Fuzz;

/// <summary>
/// Seeded byte and token mutations. Binary inputs get bit flips, interesting bytes and 32/64-bit integers, inserted,
/// deleted, duplicated and truncated ranges, biased towards the header (where a reader decides how much to allocate);
/// JSON inputs additionally get numbers, strings and values replaced by the values that break readers (huge, negative,
/// fractional, non-finite, wrong type, invalid UTF-8).
/// </summary>
public sealed partial class Mutator(int seed)
{
    private readonly Random _rng = new(seed);

    private static readonly int[] InterestingInts = [0, 1, -1, 2, 255, 256, 65535, 65536, int.MaxValue, int.MinValue, 1 << 30, 1 << 20, -2, 7, 8];

    private static readonly string[] InterestingValues =
    [
        "0", "-1", "1", "1.5", "-0.0", "1e20", "1e308", "-1e308", "2147483647", "2147483648", "-2147483648", "4294967296",
        "9223372036854775807", "1e-320", "NaN", "Infinity", "null", "true", "false", "[]", "{}", "\"\"", "\"x\"", "[1,2]",
        "{\"a\":1}", "\"\\u0000\"", "\"\\ud800\"", "123456789012345678901234567890", "\"" + new string('a', 300) + "\"",
    ];

    /// <summary>The next random integer below <paramref name="max"/> (for callers that pick seeds).</summary>
    public int Next(int max) => _rng.Next(max);

    /// <summary>A mutated copy of <paramref name="input"/>; <paramref name="headerBytes"/> is where mutations concentrate.</summary>
    public byte[] Mutate(byte[] input, bool json, int headerBytes)
    {
        var data = input;
        int rounds = 1 + (_rng.Next(4) == 0 ? _rng.Next(4) : 0);
        for (int r = 0; r < rounds; r++)
            data = json && _rng.Next(3) != 0 ? MutateJson(data) : MutateBytes(data, headerBytes);
        return data;
    }

    private int Position(int length, int headerBytes)
    {
        if (length == 0) return 0;
        return headerBytes > 0 && _rng.Next(4) != 0 ? _rng.Next(Math.Min(length, headerBytes)) : _rng.Next(length);
    }

    private byte[] MutateBytes(byte[] input, int headerBytes)
    {
        var list = new List<byte>(input);
        int at = Position(list.Count, headerBytes);
        switch (_rng.Next(9))
        {
            case 0 when list.Count > 0:
                list[at] ^= (byte)(1 << _rng.Next(8));
                break;
            case 1 when list.Count > 0:
                list[at] = (byte)(_rng.Next(5) switch { 0 => 0, 1 => 0xFF, 2 => 0x7F, 3 => 0x80, _ => _rng.Next(256) });
                break;
            case 2 when list.Count >= 4:
            {
                at = Math.Min(at & ~3, list.Count - 4);
                var span = new byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(span, InterestingInts[_rng.Next(InterestingInts.Length)]);
                for (int k = 0; k < 4; k++) list[at + k] = span[k];
                break;
            }
            case 3 when list.Count >= 8:
            {
                at = Math.Min(at, list.Count - 8);
                var span = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(span, _rng.Next(3) switch { 0 => long.MaxValue, 1 => -1, _ => _rng.NextInt64() >> _rng.Next(64) });
                for (int k = 0; k < 8; k++) list[at + k] = span[k];
                break;
            }
            case 4:
                list.InsertRange(at, Enumerable.Range(0, 1 + _rng.Next(16)).Select(_ => (byte)_rng.Next(256)));
                break;
            case 5 when list.Count > 0:
                list.RemoveRange(at, Math.Min(list.Count - at, 1 + _rng.Next(_rng.Next(2) == 0 ? 8 : 4096)));
                break;
            case 6 when list.Count > 0:
            {
                int len = Math.Min(list.Count - at, 1 + _rng.Next(64));
                list.InsertRange(Position(list.Count, headerBytes), list.GetRange(at, len));
                break;
            }
            case 7:
                list.RemoveRange(at, list.Count - at); // truncate
                break;
            default:
                if (list.Count > 0) list.InsertRange(at, new byte[] { 0xC3, 0x28 }); // invalid UTF-8
                break;
        }
        return list.ToArray();
    }

    [GeneratedRegex("""-?\d+(\.\d+)?([eE][+-]?\d+)?|"(?:[^"\\]|\\.)*"|\[|\{|true|false|null""")]
    private static partial Regex JsonToken();

    private byte[] MutateJson(byte[] input)
    {
        string text;
        try { text = new UTF8Encoding(false, true).GetString(input); }
        catch (DecoderFallbackException) { return MutateBytes(input, 0); }
        var tokens = JsonToken().Matches(text);
        if (tokens.Count == 0) return MutateBytes(input, 0);
        var t = tokens[_rng.Next(tokens.Count)];
        string replacement = _rng.Next(6) switch
        {
            0 when t.Value.StartsWith('"') => "\"" + Garble(t.Value[1..^1]) + "\"",
            1 => t.Value + "," + t.Value, // duplicate (a repeated key or an extra element)
            2 => "",                      // delete
            _ => InterestingValues[_rng.Next(InterestingValues.Length)],
        };
        return Encoding.UTF8.GetBytes(text[..t.Index] + replacement + text[(t.Index + t.Length)..]);
    }

    private string Garble(string s)
    {
        if (s.Length == 0) return "a";
        var chars = s.ToCharArray();
        int i = _rng.Next(chars.Length);
        chars[i] = _rng.Next(4) switch { 0 => 'X', 1 => '9', 2 => '.', _ => (char)('a' + _rng.Next(26)) };
        return _rng.Next(5) == 0 ? s + s : new string(chars);
    }
}
