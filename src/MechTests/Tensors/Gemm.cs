namespace MechTests.Tensors;

/// <summary>Which micro-kernel family <see cref="Gemm"/> uses.</summary>
public enum GemmKernel
{
    /// <summary>The fastest one this CPU supports (AVX-512, then AVX2/FMA, then portable).</summary>
    Auto,

    /// <summary>12×32 tiles in 512-bit registers; needs AVX-512F.</summary>
    Avx512,

    /// <summary>6×16 tiles in 256-bit registers; needs AVX2 and FMA.</summary>
    Avx2,

    /// <summary><see cref="System.Numerics.Vector{T}"/> code that runs anywhere.</summary>
    Portable,
}

/// <summary>
/// Single-precision matrix multiply on row-major data: <c>C[m×n] = (accumulate ? C : 0) + op(A)·op(B)</c>, where
/// op(A) is A [m×k, leading dimension lda] or, when <c>transA</c>, the transpose of A stored [k×m].
/// Deterministic: every element of C is summed in the same order whatever the thread count.
/// </summary>
/// <remarks>
/// Operands are packed into cache-sized panels and multiplied by a register-tiled SIMD micro-kernel; independent
/// tiles of C run on up to <see cref="Parallelism.MaxThreads"/> threads. Each element of C is a single chain of
/// (fused, where the CPU has FMA) multiply-adds over k in ascending order, starting from 0 or from C when accumulating;
/// only whole output tiles are shared out, never the k sum. Results are therefore bit-identical for any thread count
/// and any run, though not across kernel families (see <see cref="ForcedKernel"/>).
/// </remarks>
/// <example><code>
/// // y[300×2304] = x[300×768] · W[768×2304]
/// Gemm.Multiply(x, 768, false, w, 2304, false, y, 2304, 300, 2304, 768);
/// </code></example>
public static class Gemm
{
    private static volatile GemmKernel s_forced = GemmKernel.Auto;

    /// <summary>
    /// Forces one kernel family for every later call (process-wide), or <see cref="GemmKernel.Auto"/> to choose by CPU.
    /// Meant for tests and benchmarks.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The CPU cannot run the requested kernel.</exception>
    /// <example><code>
    /// Gemm.ForcedKernel = GemmKernel.Avx2;
    /// try { Gemm.Multiply(a, k, false, b, n, false, c, n, m, n, k); }
    /// finally { Gemm.ForcedKernel = GemmKernel.Auto; }
    /// </code></example>
    public static GemmKernel ForcedKernel
    {
        get => s_forced;
        set
        {
            if (!IsSupported(value)) throw new PlatformNotSupportedException($"This CPU cannot run the {value} GEMM kernel.");
            s_forced = value;
        }
    }

    /// <summary>The kernel family that calls use now (<see cref="ForcedKernel"/>, or the best supported one).</summary>
    public static GemmKernel ActiveKernel
    {
        get
        {
            GemmKernel forced = s_forced;
            if (forced != GemmKernel.Auto) return forced;
            if (Avx512Kernel.IsSupported) return GemmKernel.Avx512;
            if (Avx2Kernel.IsSupported) return GemmKernel.Avx2;
            return GemmKernel.Portable;
        }
    }

    /// <summary>Whether this CPU can run <paramref name="kernel"/> (always true for Auto and Portable).</summary>
    public static bool IsSupported(GemmKernel kernel) => kernel switch
    {
        GemmKernel.Auto or GemmKernel.Portable => true,
        GemmKernel.Avx512 => Avx512Kernel.IsSupported,
        GemmKernel.Avx2 => Avx2Kernel.IsSupported,
        _ => false,
    };

    /// <summary>Computes <c>C = op(A)·op(B)</c>, or adds it to C when <paramref name="accumulate"/>.</summary>
    /// <param name="a">A, stored [m×k] (or [k×m] when <paramref name="transA"/>) with row stride <paramref name="lda"/>.</param>
    /// <param name="lda">Row stride of A's storage: at least k (m when transposed).</param>
    /// <param name="transA">Use the transpose of the stored A.</param>
    /// <param name="b">B, stored [k×n] (or [n×k] when <paramref name="transB"/>) with row stride <paramref name="ldb"/>.</param>
    /// <param name="ldb">Row stride of B's storage: at least n (k when transposed).</param>
    /// <param name="transB">Use the transpose of the stored B.</param>
    /// <param name="c">C [m×n] with row stride <paramref name="ldc"/>; must not overlap A or B.</param>
    /// <param name="ldc">Row stride of C: at least n.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="accumulate">Add the product to C instead of overwriting it.</param>
    /// <exception cref="ArgumentException">A size is negative, a stride too small, or a span too short.</exception>
    /// <example><code>
    /// // logits[300×50257] = x[300×768] · Eᵀ, with the embedding E stored [50257×768]
    /// Gemm.Multiply(x, 768, false, e, 768, true, logits, 50257, 300, 50257, 768);
    /// </code></example>
    public static unsafe void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB,
        Span<float> c, int ldc,
        int m, int n, int k, bool accumulate = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0) return;
        CheckOperand(a.Length, lda, transA ? k : m, transA ? m : k, nameof(a), nameof(lda));
        CheckOperand(b.Length, ldb, transB ? n : k, transB ? k : n, nameof(b), nameof(ldb));
        CheckOperand(c.Length, ldc, m, n, nameof(c), nameof(ldc));

        if (k == 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }

        int threads = Parallelism.MaxThreads;
        if (WorkerPool.IsInsideParallelWork || (long)m * n * k < GemmTuning.ParallelThreshold) threads = 1;

        fixed (float* pa = a, pb = b, pc = c)
        {
            switch (ActiveKernel)
            {
                case GemmKernel.Avx512:
                    GemmJob<Avx512Kernel>.Run(pa, lda, transA, pb, ldb, transB, pc, ldc, m, n, k, accumulate, threads);
                    break;
                case GemmKernel.Avx2:
                    GemmJob<Avx2Kernel>.Run(pa, lda, transA, pb, ldb, transB, pc, ldc, m, n, k, accumulate, threads);
                    break;
                default:
                    GemmJob<PortableKernel>.Run(pa, lda, transA, pb, ldb, transB, pc, ldc, m, n, k, accumulate, threads);
                    break;
            }
        }
    }

    /// <summary>Checks that a rows×cols operand with the given row stride lies inside a span of <paramref name="length"/>.</summary>
    private static void CheckOperand(int length, int ld, int rows, int cols, string spanName, string ldName)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols)
            throw new ArgumentOutOfRangeException(ldName, ld, $"The row stride must be at least the row width ({cols}).");
        long needed = (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException($"The span holds {length} elements but a {rows}×{cols} operand with row stride {ld} needs {needed}.", spanName);
    }
}
