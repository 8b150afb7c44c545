using System.Diagnostics;
using MechTests.Hooks;
using TorchSharp;
using static TorchSharp.torch;

namespace MechTests.TorchSharp.Backend;

/// <summary>
/// What MechTests adds to a pass of a TorchSharp module, in milliseconds per pass (medians): the bare module's
/// <c>forward</c> (no run in progress, nothing materialised that it does not need), the same pass through
/// <see cref="TorchSharpBackend.Run(IReadOnlyList{int[]}, RunOptions)"/> with hooks dispatching but nothing cached or changed, with every hook point
/// cached (kept on the device), and with one head zeroed by an intervention. Nothing is copied to the host in any of
/// them, so the figures isolate the hook machinery; reading logits or a cached activation adds its copy.
/// </summary>
/// <param name="Batch">Prompts per pass.</param>
/// <param name="Positions">Tokens per prompt.</param>
/// <param name="BareMs">The module's own forward.</param>
/// <param name="HookedMs">Through the backend: hooks dispatch, nothing cached or changed.</param>
/// <param name="CachedMs">Through the backend, every hook point (except the split q/k/v inputs) cached on the device.</param>
/// <param name="IntervenedMs">Through the backend, one head's <c>hook_z</c> zeroed.</param>
/// <param name="Device">Where the module runs.</param>
/// <param name="Threads">libtorch's CPU threads.</param>
public sealed record HookOverhead(int Batch, int Positions, double BareMs, double HookedMs, double CachedMs, double IntervenedMs, string Device, int Threads)
{
    /// <summary>(hooked − bare) / bare, percent.</summary>
    public double HookedPercent => Percent(HookedMs);

    /// <summary>(cached − bare) / bare, percent.</summary>
    public double CachedPercent => Percent(CachedMs);

    /// <summary>(intervened − bare) / bare, percent.</summary>
    public double IntervenedPercent => Percent(IntervenedMs);

    private double Percent(double ms) => 100 * (ms - BareMs) / BareMs;
}

/// <summary>Measures <see cref="HookOverhead"/> (<c>mechtests bench --backend torchsharp</c>).</summary>
/// <example><code>
/// using var backend = TorchSharpBackend.Create(config, weights, new TorchSharpOptions { Device = "cuda" });
/// HookOverhead o = HookOverheadBenchmark.Run(backend, tokens);
/// Console.WriteLine($"hooks +{o.HookedPercent:F1}%, caching +{o.CachedPercent:F1}%");
/// </code></example>
public static class HookOverheadBenchmark
{
    /// <summary>
    /// Runs each variant <paramref name="repetitions"/> times, interleaved (bare, hooked, cached, intervened, …) so
    /// that a busy machine slows them alike, after two warm-up rounds; returns the medians. CUDA is synchronised
    /// after every pass.
    /// </summary>
    public static HookOverhead Run(TorchSharpBackend backend, int[][] tokens, int repetitions = 9)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(tokens);
        var (b, t) = backend.Config.CheckTokens(tokens);
        var flat = new long[b * t];
        for (int i = 0; i < b; i++)
        for (int j = 0; j < t; j++) flat[i * t + j] = tokens[i][j];
        using var tokenTensor = tensor(flat, new long[] { b, t }, device: backend.Device);
        var cacheAll = new RunOptions { Cache = HookFilter.Where(n => !n.EndsWith("_input", StringComparison.Ordinal)) };
        var zeroHead = new RunOptions { Interventions = { Intervention.Zero(HookNames.Z(0), heads: new[] { 0 }) } };

        double Bare()
        {
            var sw = Stopwatch.StartNew();
            backend.BareForward(tokenTensor);
            return sw.Elapsed.TotalMilliseconds;
        }
        double Through(RunOptions options)
        {
            var sw = Stopwatch.StartNew();
            using (backend.Run(tokens, options)) Sync(backend.Device);
            return sw.Elapsed.TotalMilliseconds;
        }

        var bare = new List<double>();
        var hooked = new List<double>();
        var cached = new List<double>();
        var intervened = new List<double>();
        for (int r = -2; r < repetitions; r++)
        {
            double x0 = Bare(), x1 = Through(RunOptions.Default), x2 = Through(cacheAll), x3 = Through(zeroHead);
            if (r < 0) continue;
            bare.Add(x0);
            hooked.Add(x1);
            cached.Add(x2);
            intervened.Add(x3);
        }
        return new HookOverhead(b, t, Median(bare), Median(hooked), Median(cached), Median(intervened), backend.Device.ToString(), torch.get_num_threads());
    }

    private static void Sync(Device device)
    {
        if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs[xs.Count / 2];
    }
}
