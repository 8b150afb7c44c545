using System.Runtime.InteropServices;
using MechTests.Tensors;
using Xunit;

namespace MechTests.Tests.Tensors;

/// <summary>
/// Checks <see cref="Gemm.Multiply"/> against a double-precision reference on every kernel path this CPU supports,
/// and that results do not depend on the thread count.
/// </summary>
[Collection("Engine settings")]
public sealed class GemmTests
{
    /// <summary>Every kernel family this machine can run (each is forced in turn).</summary>
    public static TheoryData<GemmKernel> SupportedKernels()
    {
        var data = new TheoryData<GemmKernel>();
        foreach (GemmKernel kernel in new[] { GemmKernel.Avx512, GemmKernel.Avx2, GemmKernel.Portable })
            if (Gemm.IsSupported(kernel)) data.Add(kernel);
        return data;
    }

    [Theory]
    [MemberData(nameof(SupportedKernels))]
    public void RandomSmallShapes_MatchReference_OnEveryKernel(GemmKernel kernel)
    {
        using var settings = new SettingsScope(kernel, threads: 2);
        var random = new Random(17 + (int)kernel);
        for (int trial = 0; trial < 160; trial++)
        {
            var shape = Shape.Random(random, maxSize: 70);
            CheckAgainstReference(shape, random);
        }
    }

    [Theory]
    [MemberData(nameof(SupportedKernels))]
    public void AllTransposeAndAccumulateCombinations_OnOddSizes(GemmKernel kernel)
    {
        using var settings = new SettingsScope(kernel, threads: 2);
        var random = new Random(5);
        int[][] sizes = [[1, 1, 1], [1, 37, 5], [13, 1, 9], [7, 9, 1], [25, 33, 17], [12, 32, 8], [61, 70, 69], [2, 3, 300]];
        foreach (int[] s in sizes)
            for (int combo = 0; combo < 8; combo++)
            {
                bool transA = (combo & 1) != 0, transB = (combo & 2) != 0, accumulate = (combo & 4) != 0;
                CheckAgainstReference(new Shape(s[0], s[1], s[2], transA, transB, accumulate, Pad: 0, PadC: 0), random);
                CheckAgainstReference(new Shape(s[0], s[1], s[2], transA, transB, accumulate, Pad: 3, PadC: 5), random);
            }
    }

    /// <summary>Shrinks every blocking parameter so small products cross k blocks, k groups, row blocks and panels.</summary>
    [Theory]
    [MemberData(nameof(SupportedKernels))]
    public void TinyBlocking_ExercisesEveryBlockBoundary(GemmKernel kernel)
    {
        using var settings = new SettingsScope(kernel, threads: 2);
        GemmTuning.KcMax = 16;
        GemmTuning.McMax = 30;
        GemmTuning.PackedABudget = 700;
        GemmTuning.PanelBudget = 600;
        GemmTuning.ASliversPerTask = 2;
        var random = new Random(99);
        for (int trial = 0; trial < 40; trial++)
            CheckAgainstReference(Shape.Random(random, maxSize: 90), random);
    }

    [Theory]
    [MemberData(nameof(SupportedKernels))]
    public void LargerShapes_MatchReference(GemmKernel kernel)
    {
        using var settings = new SettingsScope(kernel, threads: 2);
        var random = new Random(3);
        // Deeper than one k block, taller than one row block, wider than one B panel.
        CheckAgainstReference(new Shape(37, 150, 1000, false, true, true, Pad: 1, PadC: 2), random);
        CheckAgainstReference(new Shape(800, 40, 30, true, false, false, Pad: 0, PadC: 0), random);
        CheckAgainstReference(new Shape(50, 1100, 64, false, false, false, Pad: 2, PadC: 0), random);
    }

    [Theory]
    [MemberData(nameof(SupportedKernels))]
    public void OperandsEndingAtAGuardPage_AreNeverOverRead(GemmKernel kernel)
    {
        if (!OperatingSystem.IsLinux()) return; // the guard page uses mmap/mprotect
        using var settings = new SettingsScope(kernel, threads: 2);
        var random = new Random(11);
        for (int trial = 0; trial < 24; trial++)
        {
            var s = Shape.Random(random, maxSize: 45) with { Pad = trial % 3 };
            int lda = s.TransA ? s.M + s.Pad : s.K + s.Pad, ldb = s.TransB ? s.K + s.Pad : s.N + s.Pad;
            int aLen = s.TransA ? (s.K - 1) * lda + s.M : (s.M - 1) * lda + s.K;
            int bLen = s.TransB ? (s.N - 1) * ldb + s.K : (s.K - 1) * ldb + s.N;
            using var a = new GuardedBuffer(aLen);
            using var b = new GuardedBuffer(bLen);
            using var c = new GuardedBuffer(s.M * s.N);
            Fill(a.Span, random);
            Fill(b.Span, random);
            Gemm.Multiply(a.Span, lda, s.TransA, b.Span, ldb, s.TransB, c.Span, s.N, s.M, s.N, s.K);
            double[] expected = Reference(a.Span.ToArray(), lda, s.TransA, b.Span.ToArray(), ldb, s.TransB, null, s.N, s.M, s.N, s.K, out double[] scale);
            AssertClose(expected, scale, c.Span.ToArray(), s.N, s.M, s.N, s.K, s.ToString());
        }
    }

    [Fact]
    public void OneAndTwoThreads_GiveBitIdenticalResults()
    {
        using var settings = new SettingsScope(GemmKernel.Auto, threads: 1);
        const int m = 300, n = 2304, k = 768;
        var random = new Random(42);
        float[] a = RandomArray(random, m * k), w = RandomArray(random, k * n), wt = RandomArray(random, n * k);

        foreach (bool transB in new[] { false, true })
        {
            float[] b = transB ? wt : w;
            int ldb = transB ? k : n;
            var single = new float[m * n];
            var dual = new float[m * n];
            var again = new float[m * n];
            Parallelism.MaxThreads = 1;
            Gemm.Multiply(a, k, false, b, ldb, transB, single, n, m, n, k);
            Parallelism.MaxThreads = 2;
            Gemm.Multiply(a, k, false, b, ldb, transB, dual, n, m, n, k);
            Gemm.Multiply(a, k, false, b, ldb, transB, again, n, m, n, k);
            Assert.True(single.AsSpan().SequenceEqual(dual), $"1 vs 2 threads differ (transB={transB})");
            Assert.True(dual.AsSpan().SequenceEqual(again), $"two runs differ (transB={transB})");
        }
    }

    [Fact]
    public void ZeroSizes_AreHandled()
    {
        float[] c = [1f, 2f, 3f, 4f];
        Gemm.Multiply([], 0, false, [], 2, false, c, 2, 2, 2, 0, accumulate: true);
        Assert.Equal(new float[] { 1f, 2f, 3f, 4f }, c);
        Gemm.Multiply([], 0, false, [], 2, false, c, 2, 2, 2, 0);
        Assert.Equal(new float[] { 0f, 0f, 0f, 0f }, c);
        Gemm.Multiply([], 3, false, [1f, 2f, 3f], 1, false, [], 1, 0, 1, 3); // m = 0: nothing to do
        Gemm.Multiply([1f, 2f, 3f], 3, false, [], 0, false, [], 0, 1, 0, 3); // n = 0
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a.AsSpan(0, 5), 3, false, b, 2, false, c, 2, 2, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, 2, false, b, 2, false, c, 2, 2, 2, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, 3, false, b, 2, false, c.AsSpan(0, 3), 2, 2, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, 3, false, b, 2, false, c, 2, -1, 2, 3));
    }

    // ---- helpers ----

    private sealed record Shape(int M, int N, int K, bool TransA, bool TransB, bool Accumulate, int Pad, int PadC)
    {
        public static Shape Random(Random r, int maxSize) => new(
            r.Next(1, maxSize + 1), r.Next(1, maxSize + 1), r.Next(1, maxSize + 1),
            r.Next(2) == 1, r.Next(2) == 1, r.Next(2) == 1, Pad: r.Next(3) == 0 ? r.Next(1, 4) : 0, PadC: r.Next(3) == 0 ? r.Next(1, 4) : 0);
    }

    /// <summary>Runs one product on exactly-sized arrays whose stride gaps hold NaN, which must not leak into C.</summary>
    private static void CheckAgainstReference(Shape s, Random random)
    {
        int lda = (s.TransA ? s.M : s.K) + s.Pad, ldb = (s.TransB ? s.K : s.N) + s.Pad, ldc = s.N + s.PadC;
        int aRows = s.TransA ? s.K : s.M, aCols = s.TransA ? s.M : s.K;
        int bRows = s.TransB ? s.N : s.K, bCols = s.TransB ? s.K : s.N;
        float[] a = StridedRandom(random, aRows, aCols, lda);
        float[] b = StridedRandom(random, bRows, bCols, ldb);
        float[] c = StridedRandom(random, s.M, s.N, ldc);
        float[] before = (float[])c.Clone();

        Gemm.Multiply(a, lda, s.TransA, b, ldb, s.TransB, c, ldc, s.M, s.N, s.K, s.Accumulate);

        double[] expected = Reference(a, lda, s.TransA, b, ldb, s.TransB, s.Accumulate ? before : null, ldc, s.M, s.N, s.K, out double[] scale);
        var packed = new float[s.M * s.N];
        for (int i = 0; i < s.M; i++)
        {
            for (int j = 0; j < s.N; j++) packed[i * s.N + j] = c[i * ldc + j];
            for (int j = s.N; j < ldc && i * ldc + j < c.Length; j++)
                Assert.True(float.IsNaN(c[i * ldc + j]), $"{s}: C's stride gap was written at ({i},{j})");
        }
        AssertClose(expected, scale, packed, s.N, s.M, s.N, s.K, s.ToString());
    }

    private static void AssertClose(double[] expected, double[] scale, float[] actual, int ld, int m, int n, int k, string what)
    {
        double tolerance = 1e-5 * Math.Sqrt(k);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double e = expected[i * n + j], got = actual[i * ld + j];
                double err = Math.Abs(got - e) / (scale[i * n + j] + 1e-30);
                if (!(err <= tolerance))
                    Assert.Fail($"{what}: C[{i},{j}] = {got}, expected {e} (relative error {err:E2} > {tolerance:E2})");
            }
    }

    /// <summary>C in double precision, and Σ|terms| per element to scale the tolerance.</summary>
    private static double[] Reference(float[] a, int lda, bool transA, float[] b, int ldb, bool transB, float[]? c0, int ldc,
        int m, int n, int k, out double[] scale)
    {
        var result = new double[m * n];
        scale = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = c0 is null ? 0 : c0[i * ldc + j], mag = Math.Abs(sum);
                for (int p = 0; p < k; p++)
                {
                    double term = (double)(transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                    sum += term;
                    mag += Math.Abs(term);
                }
                result[i * n + j] = sum;
                scale[i * n + j] = mag;
            }
        return result;
    }

    /// <summary>A rows×cols matrix with row stride ld, exactly as long as needed; the gaps between rows are NaN.</summary>
    private static float[] StridedRandom(Random random, int rows, int cols, int ld)
    {
        var data = new float[(rows - 1) * ld + cols];
        Array.Fill(data, float.NaN);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) data[r * ld + j] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }

    private static float[] RandomArray(Random random, int length)
    {
        var data = new float[length];
        Fill(data, random);
        return data;
    }

    private static void Fill(Span<float> data, Random random)
    {
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
    }

    /// <summary>Sets kernel, thread count and tuning for one test and restores them afterwards.</summary>
    private sealed class SettingsScope : IDisposable
    {
        private readonly GemmKernel _kernel = Gemm.ForcedKernel;
        private readonly int _threads = Parallelism.MaxThreads;
        private readonly (int, int, int, int, int, long) _tuning =
            (GemmTuning.KcMax, GemmTuning.McMax, GemmTuning.PackedABudget, GemmTuning.PanelBudget, GemmTuning.ASliversPerTask,
             GemmTuning.ParallelThreshold);

        /// <summary>Also lowers the parallel threshold so even tiny products take the multi-threaded path.</summary>
        public SettingsScope(GemmKernel kernel, int threads)
        {
            Gemm.ForcedKernel = kernel;
            Parallelism.MaxThreads = threads;
            GemmTuning.ParallelThreshold = 0;
        }

        public void Dispose()
        {
            Gemm.ForcedKernel = _kernel;
            Parallelism.MaxThreads = _threads;
            (GemmTuning.KcMax, GemmTuning.McMax, GemmTuning.PackedABudget, GemmTuning.PanelBudget, GemmTuning.ASliversPerTask,
             GemmTuning.ParallelThreshold) = _tuning;
        }
    }

    /// <summary>Floats placed so the last one ends exactly where an inaccessible page begins: any over-read faults.</summary>
    private sealed unsafe class GuardedBuffer : IDisposable
    {
        private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20;
        private readonly nint _base;
        private readonly nuint _total;
        private readonly int _length;
        private readonly float* _start;

        public GuardedBuffer(int length)
        {
            _length = length;
            nuint page = (nuint)Environment.SystemPageSize;
            nuint bytes = (nuint)length * sizeof(float);
            nuint dataPages = (bytes + page - 1) / page;
            _total = (dataPages + 1) * page;
            _base = mmap(0, _total, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (_base == -1) throw new InvalidOperationException("mmap failed");
            nint guard = _base + (nint)(dataPages * page);
            if (mprotect(guard, page, 0) != 0) throw new InvalidOperationException("mprotect failed");
            _start = (float*)(guard - (nint)bytes);
        }

        public Span<float> Span => new(_start, _length);

        public void Dispose() => munmap(_base, _total);

        [DllImport("libc", SetLastError = true)]
        private static extern nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

        [DllImport("libc", SetLastError = true)]
        private static extern int mprotect(nint addr, nuint length, int prot);

        [DllImport("libc", SetLastError = true)]
        private static extern int munmap(nint addr, nuint length);
    }
}

/// <summary>Checks <see cref="Parallelism.For"/> and the worker pool behind it.</summary>
[Collection("Engine settings")]
public sealed class ParallelForTests
{
    [Theory]
    [InlineData(0, 1000, 2)]
    [InlineData(5, 6, 2)]
    [InlineData(-7, 13, 2)]
    [InlineData(0, 100_000, 2)]
    [InlineData(0, 37, 4)]
    [InlineData(0, 50, 1)]
    public void EveryIndex_RunsExactlyOnce(int from, int to, int threads)
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            var counts = new int[to - from];
            for (int round = 0; round < 20; round++)
                Parallelism.For(from, to, i => Interlocked.Increment(ref counts[i - from]));
            Assert.All(counts, c => Assert.Equal(20, c));
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Fact]
    public void EmptyAndReversedRanges_DoNothing()
    {
        Parallelism.For(3, 3, _ => Assert.Fail("called"));
        Parallelism.For(5, 2, _ => Assert.Fail("called"));
    }

    [Fact]
    public async Task NestedCalls_RunInlineWithoutDeadlock()
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 2;
            var counts = new int[16 * 64];
            var run = Task.Run(() => Parallelism.For(0, 16, outer =>
                Parallelism.For(0, 64, inner => Interlocked.Increment(ref counts[outer * 64 + inner]))));
            await run.WaitAsync(TimeSpan.FromSeconds(30)); // a deadlock fails with TimeoutException
            Assert.All(counts, c => Assert.Equal(1, c));

            // A GEMM inside parallel work also runs inline.
            var results = new float[8][];
            Parallelism.For(0, 8, t =>
            {
                var a = Enumerable.Repeat(1f, 64 * 64).ToArray();
                results[t] = new float[64 * 64];
                Gemm.Multiply(a, 64, false, a, 64, false, results[t], 64, 64, 64, 64);
            });
            Assert.All(results, r => Assert.All(r, v => Assert.Equal(64f, v)));
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Fact]
    public void OneThread_RunsEverythingOnTheCallingThread()
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            int caller = Environment.CurrentManagedThreadId;
            var seen = new int[500];
            Parallelism.For(0, 500, i => seen[i] = Environment.CurrentManagedThreadId);
            Assert.All(seen, id => Assert.Equal(caller, id));
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Fact]
    public void ExceptionInBody_IsRethrownOnTheCaller()
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 2;
            var error = Assert.Throws<InvalidOperationException>(() =>
                Parallelism.For(0, 1000, i => { if (i == 567) throw new InvalidOperationException("boom"); }));
            Assert.Equal("boom", error.Message);
            // The pool still works afterwards.
            int total = 0;
            Parallelism.For(0, 100, i => Interlocked.Add(ref total, i));
            Assert.Equal(4950, total);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Fact]
    public async Task ConcurrentCallersFromSeveralThreads_AllComplete()
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 2;
            var counts = new int[4, 2000];
            var tasks = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
            {
                for (int round = 0; round < 10; round++)
                    Parallelism.For(0, 2000, i => Interlocked.Increment(ref counts[t, i]));
            })).ToArray();
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
            foreach (int c in counts) Assert.Equal(10, c);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Fact]
    public void MaxThreads_RejectsValuesBelowOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.MaxThreads = 0);
    }
}
