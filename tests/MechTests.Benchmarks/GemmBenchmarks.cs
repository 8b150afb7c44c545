using BenchmarkDotNet.Attributes;
using MechTests.Tensors;

namespace MechTests.Benchmarks;

/// <summary>
/// BenchmarkDotNet timings of <see cref="Gemm.Multiply"/> on the GPT-2-small shapes listed in
/// <see cref="GemmBenchmark.Shapes"/> (300 tokens: forward, transposed-weight, and backward products).
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private int _m, _n, _k, _lda, _ldb;
    private bool _transA, _transB;

    /// <summary>Index into <see cref="GemmBenchmark.Shapes"/>.</summary>
    [ParamsSource(nameof(ShapeNames))]
    public string Shape { get; set; } = "";

    /// <summary>Kernel family to force.</summary>
    [Params(GemmKernel.Auto)]
    public GemmKernel Kernel { get; set; }

    /// <summary>Value of <see cref="Parallelism.MaxThreads"/>.</summary>
    [Params(2)]
    public int Threads { get; set; }

    /// <summary>The shape names, as BenchmarkDotNet parameters.</summary>
    public static IEnumerable<string> ShapeNames() => GemmBenchmark.Shapes.Select(s => s.Name);

    [GlobalSetup]
    public void Setup()
    {
        var shape = GemmBenchmark.Shapes.Single(s => s.Name == Shape);
        (_m, _n, _k, _transA, _transB) = (shape.M, shape.N, shape.K, shape.TransA, shape.TransB);
        _lda = _transA ? _m : _k;
        _ldb = _transB ? _k : _n;
        var random = new Random(1);
        _a = Enumerable.Range(0, _m * _k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _b = Enumerable.Range(0, _k * _n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _c = new float[_m * _n];
        Gemm.ForcedKernel = Kernel;
        Parallelism.MaxThreads = Threads;
    }

    [GlobalCleanup]
    public void Cleanup() => Gemm.ForcedKernel = GemmKernel.Auto;

    /// <summary>One product; divide 2·m·n·k by the mean time for FLOP/s.</summary>
    [Benchmark]
    public void Multiply() => Gemm.Multiply(_a, _lda, _transA, _b, _ldb, _transB, _c, _n, _m, _n, _k);
}
