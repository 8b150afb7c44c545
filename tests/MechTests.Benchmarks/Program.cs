using BenchmarkDotNet.Running;
using MechTests.Tensors;

// "quick [kernel] [threads]": the Stopwatch-based GemmBenchmark.Run() table (seconds, not minutes);
// anything else goes to BenchmarkDotNet, e.g. `--filter *GemmBenchmarks*`.
if (args.Length > 0 && args[0] == "quick")
{
    if (args.Length > 1) Gemm.ForcedKernel = Enum.Parse<GemmKernel>(args[1], ignoreCase: true);
    if (args.Length > 2) Parallelism.MaxThreads = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
    Console.WriteLine($"{"shape",-22} {"m",6} {"n",6} {"k",6} tA tB {"ms",9} {"GFLOP/s",8}  kernel x threads");
    foreach (var r in GemmBenchmark.Run())
        Console.WriteLine($"{r.Name,-22} {r.M,6} {r.N,6} {r.K,6} {(r.TransA ? 1 : 0),2} {(r.TransB ? 1 : 0),2} {r.Milliseconds,9:F3} {r.Gflops,8:F1}  {r.Kernel} x {r.Threads}");
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(MechTests.Benchmarks.GemmBenchmarks).Assembly).Run(args);
