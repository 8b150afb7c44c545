using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.CompilerServices;
using MechTests.Models;

namespace MechTests.Tensors;

/// <summary>
/// Row-wise kernels of the transformer (norms, activations, rotary) with their exact derivatives. Rows are processed
/// independently in parallel; column reductions (weight gradients) run in a fixed row order so results are
/// bit-identical for any thread count.
/// </summary>
internal static class Ops
{
    private const int RowsPerTask = 16;

    // A task of fewer floats than this costs less than handing it to another thread (a wake-up, a claim, a wait):
    // on a small model (d_model 64) the norms and activations of every patched pass were mostly that overhead.
    private const int MinFloatsPerTask = 16384;

    /// <summary>y = norm(x)·w (+ b); stores mean (LayerNorm) and reciprocal std per row for the backward pass.</summary>
    public static void NormForward(NormKind kind, float[] x, int rows, int d, float[] w, float[]? b, float eps,
        float[] y, float[] mean, float[] rstd, int xOffset = 0, int xStride = -1)
    {
        if (xStride < 0) xStride = d;
        ForRows(rows, d, r =>
        {
            var xr = x.AsSpan(xOffset + r * xStride, d);
            var yr = y.AsSpan(r * d, d);
            float mu = 0;
            if (kind == NormKind.LayerNorm)
            {
                mu = (float)SumDouble(xr) / d;
                TensorPrimitives.Subtract(xr, mu, yr);
            }
            else xr.CopyTo(yr);
            float ms = (float)(SumSquaresDouble(yr) / d);
            float rs = 1f / MathF.Sqrt(ms + eps);
            mean[r] = mu;
            rstd[r] = rs;
            TensorPrimitives.Multiply(yr, rs, yr);
            TensorPrimitives.Multiply(yr, w, yr);
            if (b != null) TensorPrimitives.Add(yr, b, yr);
        });
    }

    /// <summary>
    /// dx (+)= ∂/∂x of norm given dy; optional weight gradients dw, db accumulated (deterministic column sums).
    /// </summary>
    public static void NormBackward(NormKind kind, float[] x, int rows, int d, float[] w, float[] mean, float[] rstd,
        float[] dy, float[] dx, bool accumulate, float[]? dw, float[]? db, int xOffset = 0, int xStride = -1,
        int dxOffset = 0, int dxStride = -1, int statOffset = 0)
    {
        if (xStride < 0) xStride = d;
        if (dxStride < 0) dxStride = d;
        ForRows(rows, r =>
        {
            Span<float> xhat = d <= 4096 ? stackalloc float[d] : new float[d];
            Span<float> g = d <= 4096 ? stackalloc float[d] : new float[d];
            var xr = x.AsSpan(xOffset + r * xStride, d);
            float mu = mean[statOffset + r], rs = rstd[statOffset + r];
            if (kind == NormKind.LayerNorm) TensorPrimitives.Subtract(xr, mu, xhat);
            else xr.CopyTo(xhat);
            TensorPrimitives.Multiply(xhat, rs, xhat);
            TensorPrimitives.Multiply(dy.AsSpan(r * d, d), w, g);
            float meanGx = (float)(DotDouble(g, xhat) / d);
            float meanG = kind == NormKind.LayerNorm ? (float)(SumDouble(g) / d) : 0f;
            var dxr = dx.AsSpan(dxOffset + r * dxStride, d);
            // dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))
            for (int i = 0; i < d; i++)
            {
                float v = rs * (g[i] - meanG - xhat[i] * meanGx);
                dxr[i] = accumulate ? dxr[i] + v : v;
            }
        });
        if (dw == null && db == null) return;
        // Column sums in a fixed row order; parallel over column blocks only.
        int blocks = (d + 63) / 64;
        Parallelism.For(0, blocks, blk =>
        {
            int c0 = blk * 64, c1 = Math.Min(d, c0 + 64);
            for (int r = 0; r < rows; r++)
            {
                float mu = mean[statOffset + r], rs = rstd[statOffset + r];
                int xo = xOffset + r * xStride, go = r * d;
                for (int c = c0; c < c1; c++)
                {
                    float xh = (kind == NormKind.LayerNorm ? x[xo + c] - mu : x[xo + c]) * rs;
                    if (dw != null) dw[c] += dy[go + c] * xh;
                    if (db != null) db[c] += dy[go + c];
                }
            }
        });
    }

    /// <summary>Adds column sums of m [rows, cols] into acc [cols] in a fixed order.</summary>
    public static void AddColumnSums(float[] m, int rows, int cols, float[] acc)
    {
        int blocks = (cols + 255) / 256;
        Parallelism.For(0, blocks, blk =>
        {
            int c0 = blk * 256, n = Math.Min(cols, c0 + 256) - c0;
            for (int r = 0; r < rows; r++)
                TensorPrimitives.Add(acc.AsSpan(c0, n), m.AsSpan(r * cols + c0, n), acc.AsSpan(c0, n));
        });
    }

    /// <summary>Adds a bias [cols] to every row of m [rows, cols].</summary>
    public static void AddBias(float[] m, int rows, int cols, float[] bias, int mOffset = 0, int stride = -1)
    {
        if (stride < 0) stride = cols;
        for (int r = 0; r < rows; r++)
            TensorPrimitives.Add(m.AsSpan(mOffset + r * stride, cols), bias, m.AsSpan(mOffset + r * stride, cols));
    }

    /// <summary>post = act(pre), or act(pre)·lin when gated.</summary>
    public static void ActivationForward(ActivationKind kind, float[] pre, float[]? lin, float[] post, int rows, int cols)
    {
        ForRows(rows, cols, r =>
        {
            var p = pre.AsSpan(r * cols, cols);
            var o = post.AsSpan(r * cols, cols);
            Activate(kind, p, o);
            if (lin != null) TensorPrimitives.Multiply(o, lin.AsSpan(r * cols, cols), o);
        });
    }

    /// <summary>dPre = dPost·act'(pre)(·lin); dLin = dPost·act(pre) when gated.</summary>
    public static void ActivationBackward(ActivationKind kind, float[] pre, float[]? lin, float[] dPost, float[] dPre, float[]? dLin, int rows, int cols)
    {
        ForRows(rows, r =>
        {
            var p = pre.AsSpan(r * cols, cols);
            var dp = dPost.AsSpan(r * cols, cols);
            var dPreR = dPre.AsSpan(r * cols, cols);
            Span<float> deriv = cols <= 8192 ? stackalloc float[cols] : new float[cols];
            Span<float> act = cols <= 8192 ? stackalloc float[cols] : new float[cols];
            Derivative(kind, p, act, deriv);
            if (lin != null)
            {
                var l = lin.AsSpan(r * cols, cols);
                TensorPrimitives.Multiply(dp, act, dLin!.AsSpan(r * cols, cols));
                TensorPrimitives.Multiply(dp, l, dPreR);
                TensorPrimitives.Multiply(dPreR, deriv, dPreR);
            }
            else TensorPrimitives.Multiply(dp, deriv, dPreR);
        });
    }

    private const float GeluC = 0.7978845608028654f; // sqrt(2/π)

    private static void Activate(ActivationKind kind, ReadOnlySpan<float> x, Span<float> y)
    {
        switch (kind)
        {
            case ActivationKind.GeluTanh:
            {
                // y = 0.5·x·(1 + tanh(c·(x + 0.044715·x³)))
                for (int i = 0; i < x.Length; i++) y[i] = GeluC * (x[i] + 0.044715f * x[i] * x[i] * x[i]);
                TensorPrimitives.Tanh(y, y);
                for (int i = 0; i < x.Length; i++) y[i] = 0.5f * x[i] * (1f + y[i]);
                break;
            }
            case ActivationKind.GeluErf:
                for (int i = 0; i < x.Length; i++) y[i] = (float)(0.5 * x[i] * (1.0 + Erf(x[i] / Math.Sqrt(2.0))));
                break;
            case ActivationKind.Silu:
                TensorPrimitives.Sigmoid(x, y);
                TensorPrimitives.Multiply(y, x, y);
                break;
            default: throw new NotSupportedException(kind.ToString());
        }
    }

    private static void Derivative(ActivationKind kind, ReadOnlySpan<float> x, Span<float> act, Span<float> deriv)
    {
        switch (kind)
        {
            case ActivationKind.GeluTanh:
            {
                for (int i = 0; i < x.Length; i++) act[i] = GeluC * (x[i] + 0.044715f * x[i] * x[i] * x[i]);
                TensorPrimitives.Tanh(act, act); // act holds t = tanh(u) for now
                for (int i = 0; i < x.Length; i++)
                {
                    float t = act[i], xi = x[i];
                    float du = GeluC * (1f + 3f * 0.044715f * xi * xi);
                    deriv[i] = 0.5f * (1f + t) + 0.5f * xi * (1f - t * t) * du;
                    act[i] = 0.5f * xi * (1f + t);
                }
                break;
            }
            case ActivationKind.GeluErf:
                for (int i = 0; i < x.Length; i++)
                {
                    double xi = x[i];
                    double cdf = 0.5 * (1.0 + Erf(xi / Math.Sqrt(2.0)));
                    double pdf = Math.Exp(-0.5 * xi * xi) / Math.Sqrt(2.0 * Math.PI);
                    act[i] = (float)(xi * cdf);
                    deriv[i] = (float)(cdf + xi * pdf);
                }
                break;
            case ActivationKind.Silu:
                TensorPrimitives.Sigmoid(x, deriv); // deriv holds σ(x) for now
                for (int i = 0; i < x.Length; i++)
                {
                    float s = deriv[i];
                    act[i] = x[i] * s;
                    deriv[i] = s * (1f + x[i] * (1f - s));
                }
                break;
            default: throw new NotSupportedException(kind.ToString());
        }
    }

    /// <summary>erf(x) to ~1e-15 (series for small |x|, continued fraction for the tail).</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax < 2.5)
        {
            // Maclaurin series: erf x = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
            double sum = 0, term = ax, x2 = ax * ax;
            for (int n = 0; n < 60; n++)
            {
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
                term *= -x2 / (n + 1);
            }
            double r = 2.0 / Math.Sqrt(Math.PI) * sum;
            return x < 0 ? -r : r;
        }
        // erfc x = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) evaluated bottom-up.
        double f = ax;
        for (int k = 60; k >= 1; k--) f = ax + k / 2.0 / f;
        double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
        return x < 0 ? erfc - 1.0 : 1.0 - erfc;
    }

    /// <summary>Rotary tables: cos/sin [positions, rotaryDims/2].</summary>
    public static (float[] Cos, float[] Sin) RotaryTables(int positions, int rotaryDims, float theta)
    {
        int half = rotaryDims / 2;
        var cos = new float[positions * half];
        var sin = new float[positions * half];
        for (int p = 0; p < positions; p++)
        for (int i = 0; i < half; i++)
        {
            double invFreq = 1.0 / Math.Pow(theta, 2.0 * i / rotaryDims);
            double angle = p * invFreq;
            cos[p * half + i] = (float)Math.Cos(angle);
            sin[p * half + i] = (float)Math.Sin(angle);
        }
        return (cos, sin);
    }

    /// <summary>
    /// Rotates each head vector of x [b·p, heads·dh] in place by its position's angles (inverse when
    /// <paramref name="inverse"/>, which is the backward pass of the rotation).
    /// </summary>
    public static void Rotary(float[] x, int batch, int positions, int heads, int dh, int rotaryDims, RotaryStyle style,
        float[] cos, float[] sin, bool inverse)
    {
        if (style == RotaryStyle.None) return;
        int half = rotaryDims / 2;
        float sign = inverse ? -1f : 1f;
        ForRows(batch * positions, heads * dh, row =>
        {
            int p = row % positions;
            for (int h = 0; h < heads; h++)
            {
                int o = row * heads * dh + h * dh;
                for (int i = 0; i < half; i++)
                {
                    float c = cos[p * half + i], s = sign * sin[p * half + i];
                    int i1 = style == RotaryStyle.RotateHalf ? o + i : o + 2 * i;
                    int i2 = style == RotaryStyle.RotateHalf ? o + i + half : o + 2 * i + 1;
                    float a = x[i1], bb = x[i2];
                    x[i1] = a * c - bb * s;
                    x[i2] = bb * c + a * s;
                }
            }
        });
    }

    /// <summary>Runs body over rows in blocks on the engine's threads.</summary>
    public static void ForRows(int rows, Action<int> body) => ForRows(rows, 0, body);

    /// <summary>
    /// Runs body over rows of <paramref name="width"/> floats, in tasks of at least <see cref="RowsPerTask"/> rows and
    /// <see cref="MinFloatsPerTask"/> floats. Rows are independent, so how they are split never changes a result.
    /// </summary>
    public static void ForRows(int rows, int width, Action<int> body)
    {
        int perTask = width > 0 ? Math.Max(RowsPerTask, MinFloatsPerTask / width) : RowsPerTask;
        int tasks = (int)(((long)rows + perTask - 1) / perTask);
        if (tasks <= 1)
        {
            for (int r = 0; r < rows; r++) body(r);
            return;
        }
        Parallelism.For(0, tasks, t =>
        {
            int r1 = (int)Math.Min(rows, (t + 1L) * perTask);
            for (int r = t * perTask; r < r1; r++) body(r);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double SumDouble(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x) s += v;
        return s;
    }

    private static double SumSquaresDouble(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x) s += (double)v * v;
        return s;
    }

    private static double DotDouble(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }
}
