using System.Diagnostics;

namespace MechTests.Tensors;

/// <summary>One measured GEMM shape.</summary>
/// <param name="Name">Which product of the model this shape is (e.g. "mlp_in", "logits·Eᵀ").</param>
/// <param name="M">Rows of C.</param>
/// <param name="N">Columns of C.</param>
/// <param name="K">Length of each dot product.</param>
/// <param name="TransA">A was stored transposed.</param>
/// <param name="TransB">B was stored transposed.</param>
/// <param name="Milliseconds">Median wall time of one product.</param>
/// <param name="Gflops">2·m·n·k / median time, in 10⁹ floating-point operations per second.</param>
/// <param name="Kernel">The kernel family that ran.</param>
/// <param name="Threads">The thread bound in force.</param>
public sealed record GemmBenchmarkResult(
    string Name, int M, int N, int K, bool TransA, bool TransB, double Milliseconds, double Gflops,
    GemmKernel Kernel, int Threads);

/// <summary>
/// A quick, self-contained timing of <see cref="Gemm.Multiply"/> on the GPT-2-small shapes (300 tokens): forward
/// products, their transposed-weight forms, and the backward products for input and weight gradients.
/// </summary>
/// <example><code>
/// foreach (var r in GemmBenchmark.Run())
///     Console.WriteLine($"{r.Name,-24} {r.Gflops,6:F0} GFLOP/s");
/// </code></example>
public static class GemmBenchmark
{
    /// <summary>The shapes measured: (name, m, n, k, transA, transB).</summary>
    public static IReadOnlyList<(string Name, int M, int N, int K, bool TransA, bool TransB)> Shapes { get; } =
    [
        ("qkv", 300, 2304, 768, false, false),
        ("mlp_in", 300, 3072, 768, false, false),
        ("mlp_out", 300, 768, 3072, false, false),
        ("logits", 300, 50257, 768, false, false),
        ("qkv·Wᵀ", 300, 2304, 768, false, true),
        ("mlp_in·Wᵀ", 300, 3072, 768, false, true),
        ("mlp_out·Wᵀ", 300, 768, 3072, false, true),
        ("logits·Eᵀ", 300, 50257, 768, false, true),
        ("dX qkv = dY·Wᵀ", 300, 768, 2304, false, true),
        ("dX mlp_in = dY·Wᵀ", 300, 768, 3072, false, true),
        ("dX mlp_out = dY·Wᵀ", 300, 3072, 768, false, true),
        ("dX logits = dL·E", 300, 768, 50257, false, false),
        ("dW qkv = Xᵀ·dY", 768, 2304, 300, true, false),
        ("dW mlp_in = Xᵀ·dY", 768, 3072, 300, true, false),
        ("dW mlp_out = Xᵀ·dY", 3072, 768, 300, true, false),
        ("dE = dLᵀ·X", 50257, 768, 300, true, false),
    ];

    /// <summary>Measures every shape in <see cref="Shapes"/> with the current kernel and thread settings.</summary>
    /// <returns>One result per shape, in the order of <see cref="Shapes"/>.</returns>
    public static IReadOnlyList<GemmBenchmarkResult> Run() => Run(repetitions: 7, targetSeconds: 0.25);

    /// <summary>Measures every shape: warms up once, then takes the median of at least <paramref name="repetitions"/> runs.</summary>
    /// <param name="repetitions">Timed runs per shape (at least 1).</param>
    /// <param name="targetSeconds">More runs are taken for fast shapes until about this much time is spent on each.</param>
    /// <param name="filter">Optional substring; only shapes whose name contains it are run.</param>
    public static IReadOnlyList<GemmBenchmarkResult> Run(int repetitions, double targetSeconds = 0.25, string? filter = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        var results = new List<GemmBenchmarkResult>();
        var random = new Random(1234);
        foreach (var (name, m, n, k, transA, transB) in Shapes)
        {
            if (filter != null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            float[] a = RandomArray(random, m * k);
            float[] b = RandomArray(random, k * n);
            float[] c = new float[m * n];
            int lda = transA ? m : k, ldb = transB ? k : n;

            void Once() => Gemm.Multiply(a, lda, transA, b, ldb, transB, c, n, m, n, k);

            Once(); // warm-up: JIT, page faults, scratch buffers
            var first = Stopwatch.StartNew();
            Once();
            double estimate = Math.Max(first.Elapsed.TotalSeconds, 1e-6);
            int runs = Math.Clamp((int)(targetSeconds / estimate), repetitions, 1000);

            var times = new double[runs];
            for (int r = 0; r < runs; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                Once();
                times[r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            Array.Sort(times);
            double median = runs % 2 == 1 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
            double gflops = 2.0 * m * n * k / (median * 1e6);
            results.Add(new GemmBenchmarkResult(name, m, n, k, transA, transB, median, gflops, Gemm.ActiveKernel, Parallelism.MaxThreads));
        }
        return results;
    }

    private static float[] RandomArray(Random random, int length)
    {
        var data = GC.AllocateUninitializedArray<float>(length);
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }
}
