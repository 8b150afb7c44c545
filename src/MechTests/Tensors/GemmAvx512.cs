using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MechTests.Tensors;

/// <summary>
/// AVX-512 micro-kernel: a 12×32 block of C held in 24 zmm accumulators (of 32 registers), fed by a packed
/// 12-row sliver of A (broadcast per element) and a packed 32-column sliver of B (two vector loads per k).
/// </summary>
[System.Diagnostics.CodeAnalysis.ExcludeFromCodeCoverage(Justification = "Hot inner loop: coverage instrumentation adds a call per statement per iteration; correctness is covered by the GEMM known-answer tests under each kernel (GemmTests).")]
internal readonly unsafe struct Avx512Kernel : IGemmKernel
{
    public static int MR => 12;

    public static int NR => 32;

    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>C[12×32] (row stride ldc) = (loadC ? C : 0) + Σ_p a[p]ᵀ·b[p], summed in p order per element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel(float* a, float* b, float* c, nint ldc, int kc, bool loadC)
    {
        Vector512<float> c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1, c6_0, c6_1, c7_0, c7_1, c8_0, c8_1, c9_0, c9_1, c10_0, c10_1, c11_0, c11_1;
        if (loadC)
        {
            float* cr = c;
            c0_0 = Avx512F.LoadVector512(cr); c0_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c1_0 = Avx512F.LoadVector512(cr); c1_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c2_0 = Avx512F.LoadVector512(cr); c2_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c3_0 = Avx512F.LoadVector512(cr); c3_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c4_0 = Avx512F.LoadVector512(cr); c4_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c5_0 = Avx512F.LoadVector512(cr); c5_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c6_0 = Avx512F.LoadVector512(cr); c6_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c7_0 = Avx512F.LoadVector512(cr); c7_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c8_0 = Avx512F.LoadVector512(cr); c8_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c9_0 = Avx512F.LoadVector512(cr); c9_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c10_0 = Avx512F.LoadVector512(cr); c10_1 = Avx512F.LoadVector512(cr + 16); cr += ldc;
            c11_0 = Avx512F.LoadVector512(cr); c11_1 = Avx512F.LoadVector512(cr + 16);
        }
        else
        {
            c0_0 = Vector512<float>.Zero; c0_1 = Vector512<float>.Zero;
            c1_0 = Vector512<float>.Zero; c1_1 = Vector512<float>.Zero;
            c2_0 = Vector512<float>.Zero; c2_1 = Vector512<float>.Zero;
            c3_0 = Vector512<float>.Zero; c3_1 = Vector512<float>.Zero;
            c4_0 = Vector512<float>.Zero; c4_1 = Vector512<float>.Zero;
            c5_0 = Vector512<float>.Zero; c5_1 = Vector512<float>.Zero;
            c6_0 = Vector512<float>.Zero; c6_1 = Vector512<float>.Zero;
            c7_0 = Vector512<float>.Zero; c7_1 = Vector512<float>.Zero;
            c8_0 = Vector512<float>.Zero; c8_1 = Vector512<float>.Zero;
            c9_0 = Vector512<float>.Zero; c9_1 = Vector512<float>.Zero;
            c10_0 = Vector512<float>.Zero; c10_1 = Vector512<float>.Zero;
            c11_0 = Vector512<float>.Zero; c11_1 = Vector512<float>.Zero;
        }

        int p = kc;
        // Unrolled by two; each accumulator still sums its products strictly in k order.
        for (; p >= 2; p -= 2)
        {
            Vector512<float> b0, b1, ar;
            b0 = Avx512F.LoadVector512(b); b1 = Avx512F.LoadVector512(b + 16);
            ar = Vector512.Create(*(a)); c0_0 = Avx512F.FusedMultiplyAdd(ar, b0, c0_0); c0_1 = Avx512F.FusedMultiplyAdd(ar, b1, c0_1);
            ar = Vector512.Create(*(a + 1)); c1_0 = Avx512F.FusedMultiplyAdd(ar, b0, c1_0); c1_1 = Avx512F.FusedMultiplyAdd(ar, b1, c1_1);
            ar = Vector512.Create(*(a + 2)); c2_0 = Avx512F.FusedMultiplyAdd(ar, b0, c2_0); c2_1 = Avx512F.FusedMultiplyAdd(ar, b1, c2_1);
            ar = Vector512.Create(*(a + 3)); c3_0 = Avx512F.FusedMultiplyAdd(ar, b0, c3_0); c3_1 = Avx512F.FusedMultiplyAdd(ar, b1, c3_1);
            ar = Vector512.Create(*(a + 4)); c4_0 = Avx512F.FusedMultiplyAdd(ar, b0, c4_0); c4_1 = Avx512F.FusedMultiplyAdd(ar, b1, c4_1);
            ar = Vector512.Create(*(a + 5)); c5_0 = Avx512F.FusedMultiplyAdd(ar, b0, c5_0); c5_1 = Avx512F.FusedMultiplyAdd(ar, b1, c5_1);
            ar = Vector512.Create(*(a + 6)); c6_0 = Avx512F.FusedMultiplyAdd(ar, b0, c6_0); c6_1 = Avx512F.FusedMultiplyAdd(ar, b1, c6_1);
            ar = Vector512.Create(*(a + 7)); c7_0 = Avx512F.FusedMultiplyAdd(ar, b0, c7_0); c7_1 = Avx512F.FusedMultiplyAdd(ar, b1, c7_1);
            ar = Vector512.Create(*(a + 8)); c8_0 = Avx512F.FusedMultiplyAdd(ar, b0, c8_0); c8_1 = Avx512F.FusedMultiplyAdd(ar, b1, c8_1);
            ar = Vector512.Create(*(a + 9)); c9_0 = Avx512F.FusedMultiplyAdd(ar, b0, c9_0); c9_1 = Avx512F.FusedMultiplyAdd(ar, b1, c9_1);
            ar = Vector512.Create(*(a + 10)); c10_0 = Avx512F.FusedMultiplyAdd(ar, b0, c10_0); c10_1 = Avx512F.FusedMultiplyAdd(ar, b1, c10_1);
            ar = Vector512.Create(*(a + 11)); c11_0 = Avx512F.FusedMultiplyAdd(ar, b0, c11_0); c11_1 = Avx512F.FusedMultiplyAdd(ar, b1, c11_1);
            b0 = Avx512F.LoadVector512(b + 32); b1 = Avx512F.LoadVector512(b + 48);
            ar = Vector512.Create(*(a + 12)); c0_0 = Avx512F.FusedMultiplyAdd(ar, b0, c0_0); c0_1 = Avx512F.FusedMultiplyAdd(ar, b1, c0_1);
            ar = Vector512.Create(*(a + 13)); c1_0 = Avx512F.FusedMultiplyAdd(ar, b0, c1_0); c1_1 = Avx512F.FusedMultiplyAdd(ar, b1, c1_1);
            ar = Vector512.Create(*(a + 14)); c2_0 = Avx512F.FusedMultiplyAdd(ar, b0, c2_0); c2_1 = Avx512F.FusedMultiplyAdd(ar, b1, c2_1);
            ar = Vector512.Create(*(a + 15)); c3_0 = Avx512F.FusedMultiplyAdd(ar, b0, c3_0); c3_1 = Avx512F.FusedMultiplyAdd(ar, b1, c3_1);
            ar = Vector512.Create(*(a + 16)); c4_0 = Avx512F.FusedMultiplyAdd(ar, b0, c4_0); c4_1 = Avx512F.FusedMultiplyAdd(ar, b1, c4_1);
            ar = Vector512.Create(*(a + 17)); c5_0 = Avx512F.FusedMultiplyAdd(ar, b0, c5_0); c5_1 = Avx512F.FusedMultiplyAdd(ar, b1, c5_1);
            ar = Vector512.Create(*(a + 18)); c6_0 = Avx512F.FusedMultiplyAdd(ar, b0, c6_0); c6_1 = Avx512F.FusedMultiplyAdd(ar, b1, c6_1);
            ar = Vector512.Create(*(a + 19)); c7_0 = Avx512F.FusedMultiplyAdd(ar, b0, c7_0); c7_1 = Avx512F.FusedMultiplyAdd(ar, b1, c7_1);
            ar = Vector512.Create(*(a + 20)); c8_0 = Avx512F.FusedMultiplyAdd(ar, b0, c8_0); c8_1 = Avx512F.FusedMultiplyAdd(ar, b1, c8_1);
            ar = Vector512.Create(*(a + 21)); c9_0 = Avx512F.FusedMultiplyAdd(ar, b0, c9_0); c9_1 = Avx512F.FusedMultiplyAdd(ar, b1, c9_1);
            ar = Vector512.Create(*(a + 22)); c10_0 = Avx512F.FusedMultiplyAdd(ar, b0, c10_0); c10_1 = Avx512F.FusedMultiplyAdd(ar, b1, c10_1);
            ar = Vector512.Create(*(a + 23)); c11_0 = Avx512F.FusedMultiplyAdd(ar, b0, c11_0); c11_1 = Avx512F.FusedMultiplyAdd(ar, b1, c11_1);
            a += 24;
            b += 64;
        }
        if (p != 0)
        {
            Vector512<float> b0, b1, ar;
            b0 = Avx512F.LoadVector512(b); b1 = Avx512F.LoadVector512(b + 16);
            ar = Vector512.Create(*(a)); c0_0 = Avx512F.FusedMultiplyAdd(ar, b0, c0_0); c0_1 = Avx512F.FusedMultiplyAdd(ar, b1, c0_1);
            ar = Vector512.Create(*(a + 1)); c1_0 = Avx512F.FusedMultiplyAdd(ar, b0, c1_0); c1_1 = Avx512F.FusedMultiplyAdd(ar, b1, c1_1);
            ar = Vector512.Create(*(a + 2)); c2_0 = Avx512F.FusedMultiplyAdd(ar, b0, c2_0); c2_1 = Avx512F.FusedMultiplyAdd(ar, b1, c2_1);
            ar = Vector512.Create(*(a + 3)); c3_0 = Avx512F.FusedMultiplyAdd(ar, b0, c3_0); c3_1 = Avx512F.FusedMultiplyAdd(ar, b1, c3_1);
            ar = Vector512.Create(*(a + 4)); c4_0 = Avx512F.FusedMultiplyAdd(ar, b0, c4_0); c4_1 = Avx512F.FusedMultiplyAdd(ar, b1, c4_1);
            ar = Vector512.Create(*(a + 5)); c5_0 = Avx512F.FusedMultiplyAdd(ar, b0, c5_0); c5_1 = Avx512F.FusedMultiplyAdd(ar, b1, c5_1);
            ar = Vector512.Create(*(a + 6)); c6_0 = Avx512F.FusedMultiplyAdd(ar, b0, c6_0); c6_1 = Avx512F.FusedMultiplyAdd(ar, b1, c6_1);
            ar = Vector512.Create(*(a + 7)); c7_0 = Avx512F.FusedMultiplyAdd(ar, b0, c7_0); c7_1 = Avx512F.FusedMultiplyAdd(ar, b1, c7_1);
            ar = Vector512.Create(*(a + 8)); c8_0 = Avx512F.FusedMultiplyAdd(ar, b0, c8_0); c8_1 = Avx512F.FusedMultiplyAdd(ar, b1, c8_1);
            ar = Vector512.Create(*(a + 9)); c9_0 = Avx512F.FusedMultiplyAdd(ar, b0, c9_0); c9_1 = Avx512F.FusedMultiplyAdd(ar, b1, c9_1);
            ar = Vector512.Create(*(a + 10)); c10_0 = Avx512F.FusedMultiplyAdd(ar, b0, c10_0); c10_1 = Avx512F.FusedMultiplyAdd(ar, b1, c10_1);
            ar = Vector512.Create(*(a + 11)); c11_0 = Avx512F.FusedMultiplyAdd(ar, b0, c11_0); c11_1 = Avx512F.FusedMultiplyAdd(ar, b1, c11_1);
        }

        Avx512F.Store(c, c0_0); Avx512F.Store(c + 16, c0_1); c += ldc;
        Avx512F.Store(c, c1_0); Avx512F.Store(c + 16, c1_1); c += ldc;
        Avx512F.Store(c, c2_0); Avx512F.Store(c + 16, c2_1); c += ldc;
        Avx512F.Store(c, c3_0); Avx512F.Store(c + 16, c3_1); c += ldc;
        Avx512F.Store(c, c4_0); Avx512F.Store(c + 16, c4_1); c += ldc;
        Avx512F.Store(c, c5_0); Avx512F.Store(c + 16, c5_1); c += ldc;
        Avx512F.Store(c, c6_0); Avx512F.Store(c + 16, c6_1); c += ldc;
        Avx512F.Store(c, c7_0); Avx512F.Store(c + 16, c7_1); c += ldc;
        Avx512F.Store(c, c8_0); Avx512F.Store(c + 16, c8_1); c += ldc;
        Avx512F.Store(c, c9_0); Avx512F.Store(c + 16, c9_1); c += ldc;
        Avx512F.Store(c, c10_0); Avx512F.Store(c + 16, c10_1); c += ldc;
        Avx512F.Store(c, c11_0); Avx512F.Store(c + 16, c11_1);

    }
}
