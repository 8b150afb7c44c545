using System.CommandLine;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MechTests.Diagnostics;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tensors;
using MechTests.TorchSharp.Backend;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests bench --json</c>: GEMM throughput and engine timings on GPT-2-small shapes. With
/// <c>--backend torchsharp</c> (and <c>--device</c>) the engine, measurement and semantics figures are the TorchSharp
/// backend's, and <c>hook_overhead</c> compares the bare module with the same pass through the backend.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON (the only output format)." };
        var measurement = new Option<bool>("--measurement") { Description = "Also time AtP* against exhaustive patching (components, neurons) and edge patching." };
        var fullEdges = new Option<bool>("--full-edges") { Description = "With --measurement: patch all 32,491 edges instead of extrapolating from a sample." };
        var semantics = new Option<bool>("--semantics") { Description = "Also time the logit lens and direct logit attribution (component, neuron) on top of the clean and corrupted runs." };
        var cmd = new Command("bench", "Measure GEMM GFLOP/s and GPT-2-small-shaped forward / forward+backward times (batch 20 × 15 tokens).")
            { json, measurement, fullEdges, semantics };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            Console.Error.WriteLine("bench: GEMM shapes…");
            var gemm = GemmBenchmark.Run();
            Console.Error.WriteLine("bench: GPT-2-small-shaped model…");
            var (managed, tokens) = EngineBenchmark.Gpt2SmallSetup();
            // The selected backend (--backend/--device) over the same random weights.
            var engine = ModelBackends.Create(new LoadedModel
            {
                Config = managed.Config, Weights = managed.Weights, SourcePath = "(random GPT-2-small shape)", WeightsSha256 = "",
            });
            using var disposeEngine = engine as IDisposable;
            var timings = EngineBenchmark.Run(engine, tokens);
            HookOverhead? overhead = null;
            if (engine is TorchSharpBackend torchBackend)
            {
                Console.Error.WriteLine("bench: hook overhead (bare module vs the backend's passes)…");
                overhead = HookOverheadBenchmark.Run(torchBackend, tokens);
            }
            AttributionCost? components = null, neurons = null;
            EdgePatchingCost? edges = null;
            if (r.GetValue(measurement))
            {
                var task = MeasurementBenchmark.RandomTask(engine.Config, tokens);
                Console.Error.WriteLine("bench: AtP* vs patching (components)…");
                components = MeasurementBenchmark.AtPStarVersusPatching(engine, task, NodeGranularity.Component, sample: null, timings.ForwardMs);
                Console.Error.WriteLine("bench: AtP* vs patching (neurons, patching sampled)…");
                neurons = MeasurementBenchmark.AtPStarVersusPatching(engine, task, NodeGranularity.Neuron, sample: 96, timings.ForwardMs);
                Console.Error.WriteLine("bench: edge patching, one pair…");
                edges = MeasurementBenchmark.EdgePatching(engine, task, r.GetValue(fullEdges) ? null : 1500);
            }
            SemanticsCost? sem = null;
            if (r.GetValue(semantics))
            {
                Console.Error.WriteLine("bench: logit lens and DLA…");
                sem = SemanticsBenchmark.Run(engine, managed.Weights, MeasurementBenchmark.RandomTask(engine.Config, tokens), timings.ForwardMs);
            }
            CliSupport.WriteJson(w =>
            {
                w.WriteStartObject();
                if (sem != null)
                {
                    w.WriteStartObject("semantics");
                    w.WriteNumber("runs_ms", Math.Round(sem.RunsMs, 0));
                    w.WriteNumber("logit_lens_ms", Math.Round(sem.LogitLensMs, 1));
                    w.WriteNumber("dla_component_ms", Math.Round(sem.DlaComponentsMs, 1));
                    w.WriteNumber("dla_neuron_ms", Math.Round(sem.DlaNeuronsMs, 1));
                    w.WriteNumber("logit_lens_forward_equivalents", Math.Round(sem.LogitLensForwardEquivalents, 2));
                    w.WriteNumber("dla_forward_equivalents", Math.Round(sem.DlaForwardEquivalents, 2));
                    w.WriteEndObject();
                }
                w.WriteStartObject("machine");
                w.WriteNumber("processors", Environment.ProcessorCount);
                w.WriteNumber("threads", Parallelism.MaxThreads);
                w.WriteBoolean("avx512f", Avx512F.IsSupported);
                w.WriteBoolean("avx2", Avx2.IsSupported);
                w.WriteBoolean("vector512_accelerated", Vector512.IsHardwareAccelerated);
                w.WriteString("gemm_kernel", Gemm.ActiveKernel.ToString());
                w.WriteString("backend", ModelBackends.Default);
                if (engine is TorchSharpBackend tb)
                {
                    w.WriteString("device", tb.Device.ToString());
                    w.WriteNumber("libtorch_threads", global::TorchSharp.torch.get_num_threads());
                }
                w.WriteString("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
                w.WriteEndObject();
                w.WriteStartArray("gemm");
                foreach (var g in gemm)
                {
                    w.WriteStartObject();
                    w.WriteString("name", g.Name);
                    w.WriteNumber("m", g.M);
                    w.WriteNumber("n", g.N);
                    w.WriteNumber("k", g.K);
                    w.WriteBoolean("trans_a", g.TransA);
                    w.WriteBoolean("trans_b", g.TransB);
                    w.WriteNumber("ms", Math.Round(g.Milliseconds, 3));
                    w.WriteNumber("gflops", Math.Round(g.Gflops, 1));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartObject("engine");
                w.WriteString("model", "random GPT-2-small shape: 12 layers, d 768, 12 heads, MLP 3072, vocab 50257");
                w.WriteNumber("batch", timings.Batch);
                w.WriteNumber("positions", timings.Positions);
                w.WriteNumber("forward_ms", Math.Round(timings.ForwardMs, 1));
                w.WriteNumber("forward_backward_ms", Math.Round(timings.ForwardBackwardMs, 1));
                w.WriteString("backward_to", "every hook point except the split q/k/v inputs");
                w.WriteNumber("peak_working_set_mb", Math.Round(timings.PeakWorkingSetMb, 0));
                w.WriteEndObject();
                if (overhead != null)
                {
                    w.WriteStartObject("hook_overhead");
                    w.WriteString("what", "median ms per pass, nothing copied to the host: the bare module's forward; the backend's pass with hooks dispatching; with every hook point cached on the device; with one head's z zeroed");
                    w.WriteNumber("bare_ms", Math.Round(overhead.BareMs, 2));
                    w.WriteNumber("hooked_ms", Math.Round(overhead.HookedMs, 2));
                    w.WriteNumber("cached_ms", Math.Round(overhead.CachedMs, 2));
                    w.WriteNumber("intervened_ms", Math.Round(overhead.IntervenedMs, 2));
                    w.WriteNumber("hooked_percent", Math.Round(overhead.HookedPercent, 1));
                    w.WriteNumber("cached_percent", Math.Round(overhead.CachedPercent, 1));
                    w.WriteNumber("intervened_percent", Math.Round(overhead.IntervenedPercent, 1));
                    w.WriteEndObject();
                }
                if (components != null)
                {
                    w.WriteStartObject("measurement");
                    foreach (var c in new[] { components, neurons! })
                    {
                        w.WriteStartObject(c.Granularity);
                        w.WriteNumber("nodes", c.Nodes);
                        w.WriteNumber("atp_star_ms", Math.Round(c.AtPStarMs, 0));
                        w.WriteNumber("atp_star_forward_equivalents", Math.Round(c.AtPStarForwardEquivalents, 2));
                        w.WriteNumber("patched_nodes", c.PatchedNodes);
                        w.WriteNumber("patching_ms", Math.Round(c.PatchingMs, 0));
                        w.WriteNumber("exhaustive_patching_ms", Math.Round(c.ExhaustivePatchingMs, 0));
                        w.WriteBoolean("exhaustive_extrapolated", c.Extrapolated);
                        w.WriteNumber("speedup", Math.Round(c.Speedup, 1));
                        w.WriteEndObject();
                    }
                    w.WriteStartObject("edge_patching_one_pair");
                    w.WriteNumber("edges", edges!.Edges);
                    w.WriteNumber("patched_edges", edges.PatchedEdges);
                    w.WriteNumber("ms", Math.Round(edges.Ms, 0));
                    w.WriteNumber("edges_per_second", Math.Round(edges.EdgesPerSecond, 1));
                    w.WriteNumber("all_edges_minutes", Math.Round(edges.AllEdgesMinutes, 2));
                    w.WriteBoolean("extrapolated", edges.Extrapolated);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            });
            return 0;
        }));
        return cmd;
    }
}
