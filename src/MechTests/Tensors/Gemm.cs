namespace MechTests.Tensors;

/// <summary>
/// Single-precision matrix multiply on row-major data: <c>C[m×n] = (accumulate ? C : 0) + op(A)·op(B)</c>, where
/// op(A) is A [m×k, leading dimension lda] or, when <paramref name="transA"/>, the transpose of A stored [k×m].
/// Deterministic: every element of C is summed in the same order whatever the thread count.
/// </summary>
/// <example><code>
/// // y[300×2304] = x[300×768] · W[768×2304]
/// Gemm.Multiply(x, 768, false, w, 2304, false, y, 2304, 300, 2304, 768);
/// </code></example>
public static class Gemm
{
    /// <summary>Computes <c>C = op(A)·op(B)</c>, or adds it to C when <paramref name="accumulate"/>.</summary>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB,
        Span<float> c, int ldc,
        int m, int n, int k, bool accumulate = false)
    {
        // Placeholder reference implementation; replaced by the packed SIMD kernels.
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            float sum = 0;
            for (int p = 0; p < k; p++)
                sum += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
        }
    }
}
