using System.Numerics;
using System.Runtime.CompilerServices;

namespace MechTests.Tensors;

/// <summary>
/// Portable micro-kernel on <see cref="Vector{T}"/>: a 6×(2·Count) block of C in 12 vector accumulators. Used where
/// neither x86 kernel applies (ARM, old x86) and forced by tests to check the generic path.
/// </summary>
internal readonly unsafe struct PortableKernel : IGemmKernel
{
    // Fused multiply-add where the hardware has it (x86 FMA3, ARM64 AdvSIMD); otherwise multiply then add, since a
    // software-emulated fused operation would be far slower.
    private static readonly bool UseFusedMultiplyAdd =
        System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported;

    public static int MR => 6;

    public static int NR => 2 * Vector<float>.Count;

    public static bool IsSupported => true;

    /// <summary>C[6×NR] (row stride ldc) = (loadC ? C : 0) + Σ_p a[p]ᵀ·b[p], summed in p order per element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel(float* a, float* b, float* c, nint ldc, int kc, bool loadC)
    {
        int W = Vector<float>.Count;
        Vector<float> c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1;
        if (loadC)
        {
            float* cr = c;
            c0_0 = Vector.Load(cr); c0_1 = Vector.Load(cr + W); cr += ldc;
            c1_0 = Vector.Load(cr); c1_1 = Vector.Load(cr + W); cr += ldc;
            c2_0 = Vector.Load(cr); c2_1 = Vector.Load(cr + W); cr += ldc;
            c3_0 = Vector.Load(cr); c3_1 = Vector.Load(cr + W); cr += ldc;
            c4_0 = Vector.Load(cr); c4_1 = Vector.Load(cr + W); cr += ldc;
            c5_0 = Vector.Load(cr); c5_1 = Vector.Load(cr + W);
        }
        else
        {
            c0_0 = Vector<float>.Zero; c0_1 = Vector<float>.Zero;
            c1_0 = Vector<float>.Zero; c1_1 = Vector<float>.Zero;
            c2_0 = Vector<float>.Zero; c2_1 = Vector<float>.Zero;
            c3_0 = Vector<float>.Zero; c3_1 = Vector<float>.Zero;
            c4_0 = Vector<float>.Zero; c4_1 = Vector<float>.Zero;
            c5_0 = Vector<float>.Zero; c5_1 = Vector<float>.Zero;
        }

        if (UseFusedMultiplyAdd)
        {
            int p = kc;
            // Unrolled by two; each accumulator still sums its products strictly in k order.
            for (; p >= 2; p -= 2)
            {
                Vector<float> b0, b1, ar;
                b0 = Vector.Load(b); b1 = Vector.Load(b + W);
                ar = new Vector<float>(*(a)); c0_0 = Vector.FusedMultiplyAdd(ar, b0, c0_0); c0_1 = Vector.FusedMultiplyAdd(ar, b1, c0_1);
                ar = new Vector<float>(*(a + 1)); c1_0 = Vector.FusedMultiplyAdd(ar, b0, c1_0); c1_1 = Vector.FusedMultiplyAdd(ar, b1, c1_1);
                ar = new Vector<float>(*(a + 2)); c2_0 = Vector.FusedMultiplyAdd(ar, b0, c2_0); c2_1 = Vector.FusedMultiplyAdd(ar, b1, c2_1);
                ar = new Vector<float>(*(a + 3)); c3_0 = Vector.FusedMultiplyAdd(ar, b0, c3_0); c3_1 = Vector.FusedMultiplyAdd(ar, b1, c3_1);
                ar = new Vector<float>(*(a + 4)); c4_0 = Vector.FusedMultiplyAdd(ar, b0, c4_0); c4_1 = Vector.FusedMultiplyAdd(ar, b1, c4_1);
                ar = new Vector<float>(*(a + 5)); c5_0 = Vector.FusedMultiplyAdd(ar, b0, c5_0); c5_1 = Vector.FusedMultiplyAdd(ar, b1, c5_1);
                b0 = Vector.Load(b + 2 * W); b1 = Vector.Load(b + 3 * W);
                ar = new Vector<float>(*(a + 6)); c0_0 = Vector.FusedMultiplyAdd(ar, b0, c0_0); c0_1 = Vector.FusedMultiplyAdd(ar, b1, c0_1);
                ar = new Vector<float>(*(a + 7)); c1_0 = Vector.FusedMultiplyAdd(ar, b0, c1_0); c1_1 = Vector.FusedMultiplyAdd(ar, b1, c1_1);
                ar = new Vector<float>(*(a + 8)); c2_0 = Vector.FusedMultiplyAdd(ar, b0, c2_0); c2_1 = Vector.FusedMultiplyAdd(ar, b1, c2_1);
                ar = new Vector<float>(*(a + 9)); c3_0 = Vector.FusedMultiplyAdd(ar, b0, c3_0); c3_1 = Vector.FusedMultiplyAdd(ar, b1, c3_1);
                ar = new Vector<float>(*(a + 10)); c4_0 = Vector.FusedMultiplyAdd(ar, b0, c4_0); c4_1 = Vector.FusedMultiplyAdd(ar, b1, c4_1);
                ar = new Vector<float>(*(a + 11)); c5_0 = Vector.FusedMultiplyAdd(ar, b0, c5_0); c5_1 = Vector.FusedMultiplyAdd(ar, b1, c5_1);
                a += 12;
                b += 4 * W;
            }
            if (p != 0)
            {
                Vector<float> b0, b1, ar;
                b0 = Vector.Load(b); b1 = Vector.Load(b + W);
                ar = new Vector<float>(*(a)); c0_0 = Vector.FusedMultiplyAdd(ar, b0, c0_0); c0_1 = Vector.FusedMultiplyAdd(ar, b1, c0_1);
                ar = new Vector<float>(*(a + 1)); c1_0 = Vector.FusedMultiplyAdd(ar, b0, c1_0); c1_1 = Vector.FusedMultiplyAdd(ar, b1, c1_1);
                ar = new Vector<float>(*(a + 2)); c2_0 = Vector.FusedMultiplyAdd(ar, b0, c2_0); c2_1 = Vector.FusedMultiplyAdd(ar, b1, c2_1);
                ar = new Vector<float>(*(a + 3)); c3_0 = Vector.FusedMultiplyAdd(ar, b0, c3_0); c3_1 = Vector.FusedMultiplyAdd(ar, b1, c3_1);
                ar = new Vector<float>(*(a + 4)); c4_0 = Vector.FusedMultiplyAdd(ar, b0, c4_0); c4_1 = Vector.FusedMultiplyAdd(ar, b1, c4_1);
                ar = new Vector<float>(*(a + 5)); c5_0 = Vector.FusedMultiplyAdd(ar, b0, c5_0); c5_1 = Vector.FusedMultiplyAdd(ar, b1, c5_1);
            }
        }
        else
        {
            int p = kc;
            // Unrolled by two; each accumulator still sums its products strictly in k order.
            for (; p >= 2; p -= 2)
            {
                Vector<float> b0, b1, ar;
                b0 = Vector.Load(b); b1 = Vector.Load(b + W);
                ar = new Vector<float>(*(a)); c0_0 = ar * b0 + c0_0; c0_1 = ar * b1 + c0_1;
                ar = new Vector<float>(*(a + 1)); c1_0 = ar * b0 + c1_0; c1_1 = ar * b1 + c1_1;
                ar = new Vector<float>(*(a + 2)); c2_0 = ar * b0 + c2_0; c2_1 = ar * b1 + c2_1;
                ar = new Vector<float>(*(a + 3)); c3_0 = ar * b0 + c3_0; c3_1 = ar * b1 + c3_1;
                ar = new Vector<float>(*(a + 4)); c4_0 = ar * b0 + c4_0; c4_1 = ar * b1 + c4_1;
                ar = new Vector<float>(*(a + 5)); c5_0 = ar * b0 + c5_0; c5_1 = ar * b1 + c5_1;
                b0 = Vector.Load(b + 2 * W); b1 = Vector.Load(b + 3 * W);
                ar = new Vector<float>(*(a + 6)); c0_0 = ar * b0 + c0_0; c0_1 = ar * b1 + c0_1;
                ar = new Vector<float>(*(a + 7)); c1_0 = ar * b0 + c1_0; c1_1 = ar * b1 + c1_1;
                ar = new Vector<float>(*(a + 8)); c2_0 = ar * b0 + c2_0; c2_1 = ar * b1 + c2_1;
                ar = new Vector<float>(*(a + 9)); c3_0 = ar * b0 + c3_0; c3_1 = ar * b1 + c3_1;
                ar = new Vector<float>(*(a + 10)); c4_0 = ar * b0 + c4_0; c4_1 = ar * b1 + c4_1;
                ar = new Vector<float>(*(a + 11)); c5_0 = ar * b0 + c5_0; c5_1 = ar * b1 + c5_1;
                a += 12;
                b += 4 * W;
            }
            if (p != 0)
            {
                Vector<float> b0, b1, ar;
                b0 = Vector.Load(b); b1 = Vector.Load(b + W);
                ar = new Vector<float>(*(a)); c0_0 = ar * b0 + c0_0; c0_1 = ar * b1 + c0_1;
                ar = new Vector<float>(*(a + 1)); c1_0 = ar * b0 + c1_0; c1_1 = ar * b1 + c1_1;
                ar = new Vector<float>(*(a + 2)); c2_0 = ar * b0 + c2_0; c2_1 = ar * b1 + c2_1;
                ar = new Vector<float>(*(a + 3)); c3_0 = ar * b0 + c3_0; c3_1 = ar * b1 + c3_1;
                ar = new Vector<float>(*(a + 4)); c4_0 = ar * b0 + c4_0; c4_1 = ar * b1 + c4_1;
                ar = new Vector<float>(*(a + 5)); c5_0 = ar * b0 + c5_0; c5_1 = ar * b1 + c5_1;
            }
        }

        Vector.Store(c0_0, c); Vector.Store(c0_1, c + W); c += ldc;
        Vector.Store(c1_0, c); Vector.Store(c1_1, c + W); c += ldc;
        Vector.Store(c2_0, c); Vector.Store(c2_1, c + W); c += ldc;
        Vector.Store(c3_0, c); Vector.Store(c3_1, c + W); c += ldc;
        Vector.Store(c4_0, c); Vector.Store(c4_1, c + W); c += ldc;
        Vector.Store(c5_0, c); Vector.Store(c5_1, c + W);
    }
}
