using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MechTests.Tensors;

/// <summary>
/// AVX2/FMA micro-kernel: a 6×16 block of C in 12 ymm accumulators, which with two B vectors and one broadcast
/// fits the 16 registers that AVX2-only CPUs have.
/// </summary>
[System.Diagnostics.CodeAnalysis.ExcludeFromCodeCoverage(Justification = "Hot inner loop: coverage instrumentation adds a call per statement per iteration; correctness is covered by the GEMM known-answer tests under each kernel (GemmTests).")]
internal readonly unsafe struct Avx2Kernel : IGemmKernel
{
    public static int MR => 6;

    public static int NR => 16;

    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>C[6×16] (row stride ldc) = (loadC ? C : 0) + Σ_p a[p]ᵀ·b[p], summed in p order per element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel(float* a, float* b, float* c, nint ldc, int kc, bool loadC)
    {
        Vector256<float> c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1;
        if (loadC)
        {
            float* cr = c;
            c0_0 = Avx.LoadVector256(cr); c0_1 = Avx.LoadVector256(cr + 8); cr += ldc;
            c1_0 = Avx.LoadVector256(cr); c1_1 = Avx.LoadVector256(cr + 8); cr += ldc;
            c2_0 = Avx.LoadVector256(cr); c2_1 = Avx.LoadVector256(cr + 8); cr += ldc;
            c3_0 = Avx.LoadVector256(cr); c3_1 = Avx.LoadVector256(cr + 8); cr += ldc;
            c4_0 = Avx.LoadVector256(cr); c4_1 = Avx.LoadVector256(cr + 8); cr += ldc;
            c5_0 = Avx.LoadVector256(cr); c5_1 = Avx.LoadVector256(cr + 8);
        }
        else
        {
            c0_0 = Vector256<float>.Zero; c0_1 = Vector256<float>.Zero;
            c1_0 = Vector256<float>.Zero; c1_1 = Vector256<float>.Zero;
            c2_0 = Vector256<float>.Zero; c2_1 = Vector256<float>.Zero;
            c3_0 = Vector256<float>.Zero; c3_1 = Vector256<float>.Zero;
            c4_0 = Vector256<float>.Zero; c4_1 = Vector256<float>.Zero;
            c5_0 = Vector256<float>.Zero; c5_1 = Vector256<float>.Zero;
        }

        int p = kc;
        // Unrolled by two; each accumulator still sums its products strictly in k order.
        for (; p >= 2; p -= 2)
        {
            Vector256<float> b0, b1, ar;
            b0 = Avx.LoadVector256(b); b1 = Avx.LoadVector256(b + 8);
            ar = Vector256.Create(*(a)); c0_0 = Fma.MultiplyAdd(ar, b0, c0_0); c0_1 = Fma.MultiplyAdd(ar, b1, c0_1);
            ar = Vector256.Create(*(a + 1)); c1_0 = Fma.MultiplyAdd(ar, b0, c1_0); c1_1 = Fma.MultiplyAdd(ar, b1, c1_1);
            ar = Vector256.Create(*(a + 2)); c2_0 = Fma.MultiplyAdd(ar, b0, c2_0); c2_1 = Fma.MultiplyAdd(ar, b1, c2_1);
            ar = Vector256.Create(*(a + 3)); c3_0 = Fma.MultiplyAdd(ar, b0, c3_0); c3_1 = Fma.MultiplyAdd(ar, b1, c3_1);
            ar = Vector256.Create(*(a + 4)); c4_0 = Fma.MultiplyAdd(ar, b0, c4_0); c4_1 = Fma.MultiplyAdd(ar, b1, c4_1);
            ar = Vector256.Create(*(a + 5)); c5_0 = Fma.MultiplyAdd(ar, b0, c5_0); c5_1 = Fma.MultiplyAdd(ar, b1, c5_1);
            b0 = Avx.LoadVector256(b + 16); b1 = Avx.LoadVector256(b + 24);
            ar = Vector256.Create(*(a + 6)); c0_0 = Fma.MultiplyAdd(ar, b0, c0_0); c0_1 = Fma.MultiplyAdd(ar, b1, c0_1);
            ar = Vector256.Create(*(a + 7)); c1_0 = Fma.MultiplyAdd(ar, b0, c1_0); c1_1 = Fma.MultiplyAdd(ar, b1, c1_1);
            ar = Vector256.Create(*(a + 8)); c2_0 = Fma.MultiplyAdd(ar, b0, c2_0); c2_1 = Fma.MultiplyAdd(ar, b1, c2_1);
            ar = Vector256.Create(*(a + 9)); c3_0 = Fma.MultiplyAdd(ar, b0, c3_0); c3_1 = Fma.MultiplyAdd(ar, b1, c3_1);
            ar = Vector256.Create(*(a + 10)); c4_0 = Fma.MultiplyAdd(ar, b0, c4_0); c4_1 = Fma.MultiplyAdd(ar, b1, c4_1);
            ar = Vector256.Create(*(a + 11)); c5_0 = Fma.MultiplyAdd(ar, b0, c5_0); c5_1 = Fma.MultiplyAdd(ar, b1, c5_1);
            a += 12;
            b += 32;
        }
        if (p != 0)
        {
            Vector256<float> b0, b1, ar;
            b0 = Avx.LoadVector256(b); b1 = Avx.LoadVector256(b + 8);
            ar = Vector256.Create(*(a)); c0_0 = Fma.MultiplyAdd(ar, b0, c0_0); c0_1 = Fma.MultiplyAdd(ar, b1, c0_1);
            ar = Vector256.Create(*(a + 1)); c1_0 = Fma.MultiplyAdd(ar, b0, c1_0); c1_1 = Fma.MultiplyAdd(ar, b1, c1_1);
            ar = Vector256.Create(*(a + 2)); c2_0 = Fma.MultiplyAdd(ar, b0, c2_0); c2_1 = Fma.MultiplyAdd(ar, b1, c2_1);
            ar = Vector256.Create(*(a + 3)); c3_0 = Fma.MultiplyAdd(ar, b0, c3_0); c3_1 = Fma.MultiplyAdd(ar, b1, c3_1);
            ar = Vector256.Create(*(a + 4)); c4_0 = Fma.MultiplyAdd(ar, b0, c4_0); c4_1 = Fma.MultiplyAdd(ar, b1, c4_1);
            ar = Vector256.Create(*(a + 5)); c5_0 = Fma.MultiplyAdd(ar, b0, c5_0); c5_1 = Fma.MultiplyAdd(ar, b1, c5_1);
        }

        Avx.Store(c, c0_0); Avx.Store(c + 8, c0_1); c += ldc;
        Avx.Store(c, c1_0); Avx.Store(c + 8, c1_1); c += ldc;
        Avx.Store(c, c2_0); Avx.Store(c + 8, c2_1); c += ldc;
        Avx.Store(c, c3_0); Avx.Store(c + 8, c3_1); c += ldc;
        Avx.Store(c, c4_0); Avx.Store(c + 8, c4_1); c += ldc;
        Avx.Store(c, c5_0); Avx.Store(c + 8, c5_1);

    }
}
