using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MechTests.Tensors;

/// <summary>
/// Copies operand slivers into the micro-kernels' layout <c>dst[p·width + r]</c> (one row of <c>width</c> floats per
/// k step), zero-padding lanes <c>r ≥ count</c>. Reads stay inside <c>count</c> rows/columns and <c>kc</c> steps, so
/// a span that ends at the operand's last element is never over-read.
/// </summary>
[System.Diagnostics.CodeAnalysis.ExcludeFromCodeCoverage(Justification = "Hot inner loop: coverage instrumentation adds a call per statement per iteration; correctness is covered by the GEMM known-answer tests under each kernel (GemmTests).")]
internal static unsafe class GemmPacking
{
    /// <summary>How many k steps ahead the strided copy prefetches.</summary>
    internal static int PrefetchRows = 16;

    /// <summary>
    /// Source element (r, p) at <c>src[p·ld + r]</c>: each k step is a contiguous run of <paramref name="count"/> floats.
    /// When <paramref name="count"/> exceeds <paramref name="width"/> the run is split into consecutive slivers of
    /// <c>kc·width</c> floats each, so one pass over the strided source rows packs a whole panel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackContiguous(float* src, nint ld, int count, int kc, int width, float* dst)
    {
        int full = count / width, rest = count - full * width;
        nint sliverStride = (nint)kc * width;
        // Source rows are a whole stride apart, which the hardware prefetchers do not follow: fetch ahead by hand.
        // (Prefetches never fault, so running past the operand's end is harmless.)
        nint ahead = PrefetchRows * ld;
        for (int p = 0; p < kc; p++, src += ld, dst += width)
        {
            if (Sse.IsSupported)
            {
                for (int q = 0; q < count; q += 16) Sse.Prefetch0(src + ahead + q);
                Sse.Prefetch0(src + ahead + count - 1);
            }
            float* s = src, d = dst;
            for (int q = 0; q < full; q++, s += width, d += sliverStride) CopyRun(s, d, width);
            if (rest > 0)
            {
                CopyRun(s, d, rest);
                for (int r = rest; r < width; r++) d[r] = 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(float* s, float* d, int count)
    {
        int r = 0;
        if (Avx.IsSupported)
            for (; r + 8 <= count; r += 8) Avx.Store(d + r, Avx.LoadVector256(s + r));
        if (Vector128.IsHardwareAccelerated)
            for (; r + 4 <= count; r += 4) Vector128.Store(Vector128.Load(s + r), d + r);
        for (; r < count; r++) d[r] = s[r];
    }

    /// <summary>Source element (r, p) at <c>src[r·ld + p]</c>: rows are contiguous in k, so the copy transposes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackTransposed(float* src, nint ld, int count, int kc, int width, float* dst)
    {
        int r0 = 0;
        if (Avx.IsSupported)
        {
            for (; r0 + 8 <= count; r0 += 8) Transpose8Rows(src + r0 * ld, ld, kc, width, dst + r0);
        }
        if (Sse.IsSupported)
        {
            for (; r0 + 4 <= count; r0 += 4) Transpose4Rows(src + r0 * ld, ld, kc, width, dst + r0);
        }
        for (; r0 < count; r0++)
        {
            float* s = src + r0 * ld;
            float* d = dst + r0;
            for (int p = 0; p < kc; p++) d[p * width] = s[p];
        }
        for (int r = count; r < width; r++)
        {
            float* d = dst + r;
            for (int p = 0; p < kc; p++) d[p * width] = 0f;
        }
    }

    /// <summary>Eight source rows, k in blocks of eight through an in-register 8×8 transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose8Rows(float* src, nint ld, int kc, int width, float* dst)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            float* s = src + p;
            Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + ld);
            Vector256<float> r2 = Avx.LoadVector256(s + 2 * ld), r3 = Avx.LoadVector256(s + 3 * ld);
            Vector256<float> r4 = Avx.LoadVector256(s + 4 * ld), r5 = Avx.LoadVector256(s + 5 * ld);
            Vector256<float> r6 = Avx.LoadVector256(s + 6 * ld), r7 = Avx.LoadVector256(s + 7 * ld);

            // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
            Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
            Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
            Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
            Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
            Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
            Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
            Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
            Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);

            float* d = dst + p * width;
            Avx.Store(d, Avx.Permute2x128(s0, s4, 0x20));
            Avx.Store(d + width, Avx.Permute2x128(s1, s5, 0x20));
            Avx.Store(d + 2 * width, Avx.Permute2x128(s2, s6, 0x20));
            Avx.Store(d + 3 * width, Avx.Permute2x128(s3, s7, 0x20));
            Avx.Store(d + 4 * width, Avx.Permute2x128(s0, s4, 0x31));
            Avx.Store(d + 5 * width, Avx.Permute2x128(s1, s5, 0x31));
            Avx.Store(d + 6 * width, Avx.Permute2x128(s2, s6, 0x31));
            Avx.Store(d + 7 * width, Avx.Permute2x128(s3, s7, 0x31));
        }
        for (; p < kc; p++)
        {
            float* d = dst + p * width;
            for (int r = 0; r < 8; r++) d[r] = src[r * ld + p];
        }
    }

    /// <summary>Four source rows, k in blocks of four through a 4×4 transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose4Rows(float* src, nint ld, int kc, int width, float* dst)
    {
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            float* s = src + p;
            Vector128<float> r0 = Sse.LoadVector128(s), r1 = Sse.LoadVector128(s + ld);
            Vector128<float> r2 = Sse.LoadVector128(s + 2 * ld), r3 = Sse.LoadVector128(s + 3 * ld);
            Vector128<float> t0 = Sse.UnpackLow(r0, r1), t1 = Sse.UnpackHigh(r0, r1);
            Vector128<float> t2 = Sse.UnpackLow(r2, r3), t3 = Sse.UnpackHigh(r2, r3);
            float* d = dst + p * width;
            Sse.Store(d, Sse.MoveLowToHigh(t0, t2));
            Sse.Store(d + width, Sse.MoveHighToLow(t2, t0));
            Sse.Store(d + 2 * width, Sse.MoveLowToHigh(t1, t3));
            Sse.Store(d + 3 * width, Sse.MoveHighToLow(t3, t1));
        }
        for (; p < kc; p++)
        {
            float* d = dst + p * width;
            for (int r = 0; r < 4; r++) d[r] = src[r * ld + p];
        }
    }
}
