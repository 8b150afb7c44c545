namespace MechTests.Models.Loading;

/// <summary>
/// Element types of the <c>.safetensors</c> format. Every one is recognised so a header can be fully validated (real
/// checkpoints carry e.g. BOOL attention-mask buffers); F32, F16, BF16 and F64 read as float32, I32 and I64 as integers.
/// </summary>
public enum SafeTensorsDType
{
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary16 (<see cref="Half"/>).</summary>
    F16,
    /// <summary>bfloat16: the top 16 bits of a binary32.</summary>
    BF16,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>IEEE 754 binary64 (read as float32, rounded).</summary>
    F64,
    /// <summary>Boolean, one byte (validated, not readable as weights).</summary>
    BOOL,
    /// <summary>Unsigned 8-bit integer (validated only).</summary>
    U8,
    /// <summary>Signed 8-bit integer (validated only).</summary>
    I8,
    /// <summary>Signed 16-bit integer (validated only).</summary>
    I16,
    /// <summary>Unsigned 16-bit integer (validated only).</summary>
    U16,
    /// <summary>Unsigned 32-bit integer (validated only).</summary>
    U32,
    /// <summary>Unsigned 64-bit integer (validated only).</summary>
    U64,
    /// <summary>8-bit float, 5-bit exponent (validated only).</summary>
    F8_E5M2,
    /// <summary>8-bit float, 4-bit exponent (validated only).</summary>
    F8_E4M3,
}

/// <summary>Helpers for <see cref="SafeTensorsDType"/>: header spelling and element sizes.</summary>
public static class SafeTensorsDTypes
{
    /// <summary>The spellings accepted in a header, for error messages.</summary>
    public const string SupportedList = "F32, F16, BF16, F64, I32, I64, BOOL, U8, I8, I16, U16, U32, U64, F8_E5M2, F8_E4M3";

    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F32 => 4,
        SafeTensorsDType.F16 => 2,
        SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.I32 => 4,
        SafeTensorsDType.I64 => 8,
        SafeTensorsDType.F64 => 8,
        SafeTensorsDType.BOOL or SafeTensorsDType.U8 or SafeTensorsDType.I8 => 1,
        SafeTensorsDType.F8_E5M2 or SafeTensorsDType.F8_E4M3 => 1,
        SafeTensorsDType.I16 or SafeTensorsDType.U16 => 2,
        SafeTensorsDType.U32 => 4,
        SafeTensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>Whether the dtype can be read as float32 weights (F32, F16, BF16, F64).</summary>
    public static bool IsFloat(this SafeTensorsDType dtype) =>
        dtype is SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F64;

    /// <summary>The spelling used in the JSON header (e.g. <c>"BF16"</c>).</summary>
    public static string HeaderName(this SafeTensorsDType dtype) => dtype.ToString();

    /// <summary>Parses a header spelling (exact, upper case); false for anything the format does not define.</summary>
    public static bool TryParse(string? text, out SafeTensorsDType dtype)
    {
        dtype = default;
        // Enum.TryParse alone would accept numbers and other casings, which a strict header reader must not.
        if (string.IsNullOrEmpty(text) || text.Any(c => !(char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_')))
            return false;
        return Enum.TryParse(text, ignoreCase: false, out dtype) && Enum.IsDefined(dtype) && char.IsAsciiLetter(text[0]);
    }

    /// <summary>Converts a bfloat16 bit pattern to float32 (exact: bf16 is a truncated binary32).</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Rounds a float32 to the nearest bfloat16 (ties to even); NaN stays NaN with its sign.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        // Rounding could carry a NaN payload into infinity, so NaNs are mapped to a quiet NaN directly.
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        uint lsb = (bits >> 16) & 1;
        return (ushort)((bits + 0x7FFFu + lsb) >> 16);
    }

    /// <summary>Converts a binary16 bit pattern to float32 (exact).</summary>
    public static float HalfToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>Rounds a float32 to the nearest binary16 (ties to even), as <see cref="Half"/>'s conversion does.</summary>
    public static ushort SingleToHalf(float value) => BitConverter.HalfToUInt16Bits((Half)value);
}
