using System.Diagnostics;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Semantics;
using MechTests.Tasks;

namespace MechTests.Diagnostics;

/// <summary>Times of the semantic readouts, each after the task's clean and corrupted runs (no extra forward pass).</summary>
/// <param name="RunsMs">The clean and corrupted runs (<see cref="TaskRuns.Create"/>), what every readout needs.</param>
/// <param name="LogitLensMs">The logit lens at every layer boundary, clean and corrupted, on top of the runs.</param>
/// <param name="DlaComponentsMs">Direct logit attribution per component, on top of the runs.</param>
/// <param name="DlaNeuronsMs">Direct logit attribution per neuron, on top of the runs.</param>
/// <param name="ForwardMs">The forward time the forward-equivalents divide by.</param>
public sealed record SemanticsCost(double RunsMs, double LogitLensMs, double DlaComponentsMs, double DlaNeuronsMs, double ForwardMs)
{
    /// <summary>(runs + logit lens) / forward.</summary>
    public double LogitLensForwardEquivalents => (RunsMs + LogitLensMs) / ForwardMs;

    /// <summary>(runs + component DLA) / forward.</summary>
    public double DlaForwardEquivalents => (RunsMs + DlaComponentsMs) / ForwardMs;
}

/// <summary>Benchmarks of the semantics layer (<c>mechtests bench --semantics</c>).</summary>
/// <example><code>
/// var (engine, tokens) = EngineBenchmark.Gpt2SmallSetup();
/// var cost = SemanticsBenchmark.Run(engine, MeasurementBenchmark.RandomTask(engine.Config, tokens), forwardMs: 300);
/// </code></example>
public static class SemanticsBenchmark
{
    /// <summary>Times the runs, the logit lens and DLA (component and neuron) once each, after a warm-up.</summary>
    public static SemanticsCost Run(Transformer engine, MechTask task, double forwardMs)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return Run(engine, engine.Weights, task, forwardMs);
    }

    /// <summary>As <see cref="Run(Transformer, MechTask, double)"/> on any backend; <paramref name="weights"/> are the model's (the readouts project with them).</summary>
    public static SemanticsCost Run(IModelBackend engine, ModelWeights weights, MechTask task, double forwardMs)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(weights);
        using (var warm = TaskRuns.Create(engine, task))
        {
            LogitLens.Run(warm, weights);
            DirectLogitAttribution.Run(warm, weights);
        }
        var sw = Stopwatch.StartNew();
        using var runs = TaskRuns.Create(engine, task);
        double runsMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        LogitLens.Run(runs, weights);
        double lens = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        DirectLogitAttribution.Run(runs, weights);
        double dla = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        DirectLogitAttribution.Run(runs, weights, NodeGranularity.Neuron);
        double neurons = sw.Elapsed.TotalMilliseconds;
        return new SemanticsCost(runsMs, lens, dla, neurons, forwardMs);
    }
}
