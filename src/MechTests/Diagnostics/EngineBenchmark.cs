using System.Diagnostics;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;

namespace MechTests.Diagnostics;

/// <summary>Timings of the engine on a random GPT-2-small-shaped model (12 layers, d 768, 12 heads, MLP 3072, vocab 50257).</summary>
/// <param name="Batch">Prompts per batch.</param>
/// <param name="Positions">Tokens per prompt.</param>
/// <param name="ForwardMs">Median forward pass (logits at every position), ms.</param>
/// <param name="ForwardBackwardMs">Median forward (recorded) + backward to every hook point except the split q/k/v inputs, ms.</param>
/// <param name="PeakWorkingSetMb">Peak working set of the process after the runs, MiB.</param>
/// <param name="Threads">Threads used.</param>
/// <param name="Kernel">The GEMM kernel in use.</param>
public sealed record EngineTimings(int Batch, int Positions, double ForwardMs, double ForwardBackwardMs, double PeakWorkingSetMb, int Threads, string Kernel);

/// <summary>Measures forward and forward+backward of the engine.</summary>
/// <example><code>
/// var (engine, tokens) = EngineBenchmark.Gpt2SmallSetup();
/// EngineTimings t = EngineBenchmark.Run(engine, tokens, repetitions: 5);
/// </code></example>
public static class EngineBenchmark
{
    /// <summary>A random GPT-2-small-shaped engine and a batch of 20 × 15 random tokens (seeded).</summary>
    public static (Transformer Engine, int[][] Tokens) Gpt2SmallSetup(int batch = 20, int positions = 15, int seed = 1)
    {
        var cfg = ModelPresets.Gpt2Small;
        var engine = new Transformer(cfg, RandomWeights.Create(cfg, seed));
        var rng = new Random(seed);
        var tokens = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, positions).Select(_ => rng.Next(cfg.VocabSize)).ToArray()).ToArray();
        return (engine, tokens);
    }

    /// <summary>
    /// Runs six warm-ups of each then <paramref name="repetitions"/> timed runs of each, reporting medians. Any backend:
    /// the managed engine or a TorchSharp one (<c>mechtests bench --backend torchsharp</c>); the backward pass reads no
    /// gradient, so a device backend's figures do not include copies to the host.
    /// </summary>
    public static EngineTimings Run(IModelBackend engine, int[][] tokens, int repetitions = 5)
    {
        var grads = new BackwardOptions { Gradients = HookFilter.Where(n => !n.EndsWith("_input", StringComparison.Ordinal)) };
        var dLogits = new Tensor(tokens.Length, tokens[0].Length, engine.Config.VocabSize);
        var rng = new Random(2);
        for (int i = 0; i < dLogits.Length; i += 97) dLogits.Data[i] = (float)(rng.NextDouble() - 0.5);
        double Forward()
        {
            var sw = Stopwatch.StartNew();
            // Disposed as a loop of passes should be: the logits' buffer is reused by the next pass.
            using var pass = engine.Run(tokens, RunOptions.Default);
            return sw.Elapsed.TotalMilliseconds;
        }
        double ForwardBackward()
        {
            var sw = Stopwatch.StartNew();
            using var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true });
            using var backward = engine.Backward(pass, dLogits, grads);
            return sw.Elapsed.TotalMilliseconds;
        }
        // Steady state: on a virtualised machine the GC needs several passes of this size before it stops handing
        // memory back to the OS (each fresh page then faults again); the first passes can be 3-4x slower.
        for (int i = 0; i < 6; i++) { Forward(); ForwardBackward(); }
        var fwd = Enumerable.Range(0, repetitions).Select(_ => Forward()).Order().ToArray();
        var fb = Enumerable.Range(0, repetitions).Select(_ => ForwardBackward()).Order().ToArray();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return new EngineTimings(tokens.Length, tokens[0].Length, fwd[fwd.Length / 2], fb[fb.Length / 2],
            process.PeakWorkingSet64 / (1024.0 * 1024.0), Parallelism.MaxThreads, engine is Transformer ? Gemm.ActiveKernel.ToString() : engine.GetType().Name);
    }
}
