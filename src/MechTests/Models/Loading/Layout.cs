namespace MechTests.Models.Loading;

/// <summary>Layout conversions shared by the loaders.</summary>
internal static class Layout
{
    /// <summary>Transposes row-major <paramref name="src"/> [rows, cols] into <paramref name="dst"/> [cols, rows].</summary>
    public static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        if (src.Length != (long)rows * cols || dst.Length != src.Length)
            throw new ArgumentException($"Transpose of [{rows}, {cols}] needs {(long)rows * cols} elements (got {src.Length} → {dst.Length}).");
        // Blocked so both sides stay in cache for large matrices.
        const int block = 32;
        for (int r0 = 0; r0 < rows; r0 += block)
        {
            int r1 = Math.Min(rows, r0 + block);
            for (int c0 = 0; c0 < cols; c0 += block)
            {
                int c1 = Math.Min(cols, c0 + block);
                for (int r = r0; r < r1; r++)
                {
                    int srcRow = r * cols;
                    for (int c = c0; c < c1; c++)
                        dst[c * rows + r] = src[srcRow + c];
                }
            }
        }
    }

    /// <summary>Formats a shape as <c>[a, b]</c>.</summary>
    public static string Shape(params int[] shape) => SafeTensorsFile.FormatShape(shape);
}
