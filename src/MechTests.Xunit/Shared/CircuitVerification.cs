using System.Globalization;
using MechTests.Circuits;
using MechTests.Reports;
using MechTests.Models;
#if XUNIT_V3
using MechTests.Xunit.Sdk;
using Xunit;
#else
using Xunit.Abstractions;
#endif

namespace MechTests.Xunit;

/// <summary>What <see cref="CircuitVerification.Verify(CircuitCase, ITestOutputHelper, SnapshotVerifier?, ModelCache?)"/> did.</summary>
/// <param name="Claim">The circuit file as checked in.</param>
/// <param name="Received">The circuit re-derived on the model, with its measured metrics.</param>
/// <param name="Snapshot">How it compared with the verified snapshot (matched, or created/updated when accepting).</param>
/// <example><code>
/// var result = circuit.Verify(output);
/// Assert.True(result.Received.Metrics["faithfulness"].Value &gt;= 0.8);
/// </code></example>
public sealed record CircuitVerificationResult(CircuitFile Claim, CircuitFile Received, SnapshotResult Snapshot)
{
    /// <summary>A measured metric's value (<c>faithfulness</c>, <c>cpr</c>, …), or null when the file does not measure it.</summary>
    /// <example><code>
    /// double? cpr = result.Figure("cpr");
    /// </code></example>
    public double? Figure(string metric) => Received.Metrics.TryGetValue(metric, out var e) ? e.Value : null;
}

/// <summary>
/// Verifies a circuit claim the way <c>mechtests verify</c> does — re-derive it on its model
/// (<see cref="CircuitPipeline.Rederive(CircuitFile, LoadedModel, IProgress{string}?, bool)"/>: same method, same
/// parameters, same measurements) and compare with its verified snapshot <c>NAME.verified.json</c>
/// (<see cref="SnapshotVerifier"/>) — and writes the measured figures to the test output first, so they are in the
/// test log whether it passes or fails: faithfulness, CPR/CMD, completeness, minimality, each next to the claimed value.
/// </summary>
/// <example><code>
/// public class Claims(ITestOutputHelper output)
/// {
///     [CircuitTheory, CircuitFiles("circuits")]
///     public void Holds(CircuitCase circuit) => circuit.Verify(output);
/// }
/// // test output:
/// // name-copy: 14 nodes, 56 edges; greedy (n=60, ranking=absolute, scores=atp-star/abs_mean); llama 5×8, d_model 64; task name-copy (logit_diff)
/// // faithfulness = 0.91374 (normalized; claimed 0.91374)
/// // cpr = 0.989091 (normalized; claimed 0.989091)
/// // …
/// // snapshot: matched /src/MyTests/circuits/name-copy.verified.json
/// </code></example>
public static class CircuitVerification
{
    /// <summary>The figures written, in order: <c>faithfulness</c>, <c>cpr</c>, <c>cmd</c>, <c>completeness</c>, <c>minimality</c>.</summary>
    /// <example><code>
    /// foreach (var m in CircuitVerification.Figures) output.WriteLine($"{m}: {result.Figure(m)}");
    /// </code></example>
    public static IReadOnlyList<string> Figures { get; } = ["faithfulness", "cpr", "cmd", "completeness", "minimality"];

    /// <summary>
    /// Re-derives <paramref name="circuit"/> on its model (loaded once per run through <paramref name="cache"/>), writes
    /// the figures to <paramref name="output"/>, then verifies against <c>{circuit}.verified.json</c> next to the file.
    /// The snapshot settings come from the test assembly's build facts (accept only when asked, never on CI unless forced).
    /// </summary>
    /// <exception cref="CircuitFormatException">The circuit file is malformed.</exception>
    /// <remarks>
    /// Under xUnit v3 (the MechTests.Xunit.V3 package) <paramref name="output"/> may be left out (the running test's
    /// <c>TestContext.Current.TestOutputHelper</c>), a missing model skips the running test (v3's dynamic skip) in any
    /// test unless strict mode is on, and a snapshot failure also attaches the received file and its HTML report to the
    /// test (<c>TestContext.AddAttachment</c>). xUnit v2 can do neither: there the model is checked by the attributes.
    /// </remarks>
    /// <exception cref="ModelNotFoundException">The model is missing (a <see cref="CircuitTheoryAttribute"/> row is skipped before it gets here).</exception>
    /// <exception cref="SnapshotMismatchException">The re-derived circuit differs from its verified snapshot (the figures are already written).</exception>
    /// <exception cref="ModelMismatchException">The circuit belongs to another model (the message says how to point the test at its model).</exception>
    /// <exception cref="InvalidDataException">Its task file changed.</exception>
    /// <example><code>
    /// [CircuitTheory, CircuitFiles("circuits")]
    /// public void Holds(CircuitCase circuit) => circuit.Verify(output);
    /// </code></example>
#if XUNIT_V3
    public static CircuitVerificationResult Verify(this CircuitCase circuit, ITestOutputHelper? output = null, SnapshotVerifier? verifier = null, ModelCache? cache = null)
#else
    public static CircuitVerificationResult Verify(this CircuitCase circuit, ITestOutputHelper output, SnapshotVerifier? verifier = null, ModelCache? cache = null)
#endif
    {
        ArgumentNullException.ThrowIfNull(circuit);
        // Read first: a malformed file fails with its parse error even where its model is missing too.
        var claim = circuit.Read();
#if XUNIT_V3
        output = TestOutput.OrCurrent(output);
        DynamicSkip.IfModelMissing(circuit);
#else
        ArgumentNullException.ThrowIfNull(output);
#endif
        var model = circuit.LoadModel(cache);
        verifier ??= new SnapshotVerifier(circuit.BuildFacts.SnapshotSettings() with { ReportWriter = SnapshotReportWriter.Instance });
        return Verify(claim, model, circuit.SnapshotPath, output, verifier, circuit.Name);
    }

    /// <summary>
    /// Re-derives <paramref name="claim"/> on <paramref name="model"/>, writes the figures, and verifies against
    /// <paramref name="snapshotPath"/> (<c>X</c> or <c>X.verified.json</c>).
    /// </summary>
    /// <example><code>
    /// var claim = CircuitFile.Read("circuits/name-copy.json");
    /// CircuitVerification.Verify(claim, ModelCache.Shared.Get(EmbeddedModels.Stories260KPath), "circuits/name-copy", output);
    /// </code></example>
#if XUNIT_V3
    public static CircuitVerificationResult Verify(CircuitFile claim, LoadedModel model, string snapshotPath, ITestOutputHelper? output = null,
        SnapshotVerifier? verifier = null, string? name = null)
#else
    public static CircuitVerificationResult Verify(CircuitFile claim, LoadedModel model, string snapshotPath, ITestOutputHelper output,
        SnapshotVerifier? verifier = null, string? name = null)
#endif
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(model);
#if XUNIT_V3
        output = TestOutput.OrCurrent(output);
#else
        ArgumentNullException.ThrowIfNull(output);
#endif
        verifier ??= new SnapshotVerifier(SnapshotSettings.FromEnvironment() with { ReportWriter = SnapshotReportWriter.Instance });
        CircuitFile received;
        try
        {
            received = CircuitPipeline.Rederive(claim, model);
        }
        catch (ModelMismatchException e)
        {
            throw e.WithAdvice(TestModelAdvice);
        }
        WriteFigures(output, received, claim, name ?? (claim.SourcePath is { } p ? Path.GetFileNameWithoutExtension(p) : null));
        SnapshotResult snapshot;
        try
        {
            snapshot = verifier.Verify(received, snapshotPath);
        }
        catch (SnapshotMismatchException e)
        {
            output.WriteLine($"snapshot: {e.Failure.ToString().ToLowerInvariant()} {e.VerifiedPath} (received: {e.ReceivedPath})");
            // The path is in the failure message and here, in the test's output, which TRX keeps too; xUnit v3 also
            // attaches the files to the test (xUnit 2 has no test attachments).
            if (e.ReportPath != null) output.WriteLine($"report: {e.ReportPath}");
#if XUNIT_V3
            TestOutput.Attach(e);
#endif
            throw;
        }
        output.WriteLine($"snapshot: {snapshot.Status.ToString().ToLowerInvariant()} {snapshot.VerifiedPath}");
        return new CircuitVerificationResult(claim, received, snapshot);
    }

    /// <summary>How a test points a circuit at its model: the advice a model mismatch carries inside a test.</summary>
    /// <example><code>
    /// catch (ModelMismatchException e) { throw e.WithAdvice(CircuitVerification.TestModelAdvice); }
    /// </code></example>
    public const string TestModelAdvice = "Point the test at the model it was found on: model.path in the circuit file, Model = \"…\" on [CircuitFiles], " +
        "or MECHTESTS_MODEL (docs/circuit-format.md, \"Circuits of several models\"); or re-run discovery on this model.";

    /// <summary>Writes <see cref="FigureLines"/> to <paramref name="output"/>, one line each.</summary>
    /// <example><code>
    /// var measured = CircuitPipeline.Evaluate(claim, model);
    /// CircuitVerification.WriteFigures(output, measured, claim);
    /// </code></example>
    public static void WriteFigures(ITestOutputHelper output, CircuitFile measured, CircuitFile? claimed = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (var line in FigureLines(measured, claimed, name)) output.WriteLine(line);
    }

    /// <summary>
    /// The figures of <paramref name="measured"/> as text: a header (size, method, model), then one line per
    /// <see cref="Figures"/> entry it measures — <c>name = value (unit; claimed value)</c>, 6 significant digits,
    /// invariant culture — and <c>name: not measured</c> for the others; then one line per role claim
    /// (<see cref="RoleMeasurement.Lines"/>).
    /// </summary>
    /// <example><code>
    /// string text = string.Join("\n", CircuitVerification.FigureLines(measured));
    /// Assert.Contains("faithfulness = 1 ", text);
    /// </code></example>
    public static IReadOnlyList<string> FigureLines(CircuitFile measured, CircuitFile? claimed = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(measured);
        var c = measured.Circuit;
        var m = measured.Model;
        string parameters = measured.Parameters.Count == 0 ? "" : $" ({string.Join(", ", measured.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))})";
        var lines = new List<string>
        {
            $"{name ?? measured.Task.Name}: {Count(c.Nodes.Count, "node")}, {Count(c.Edges.Count, "edge")}; {measured.Method}{parameters}; " +
            $"{m.Architecture} {m.NLayers}×{m.NHeads}, d_model {m.DModel}; task {measured.Task.Name} ({measured.Task.Metric})",
        };
        foreach (var metric in Figures)
        {
            if (!measured.Metrics.TryGetValue(metric, out var e))
            {
                lines.Add($"{metric}: not measured");
                continue;
            }
            var notes = new List<string> { e.Unit };
            if (metric == "completeness" && e.Details?["normalized"] is { } norm) notes.Add($"normalized {F(norm.GetValue<double>())}");
            if (metric == "minimality")
            {
                if (e.Conventions.TryGetValue("delta", out var delta)) notes.Add($"components with drop < δ={delta}");
                if (e.Details?["components"] is { } n) notes.Add($"of {n.GetValue<int>()}");
            }
            if (claimed != null) notes.Add(claimed.Metrics.TryGetValue(metric, out var before) ? $"claimed {F(before.Value)}" : "not claimed");
            lines.Add($"{metric} = {F(e.Value)} ({string.Join("; ", notes)})");
        }
        lines.AddRange(RoleMeasurement.Lines(measured, claimed));
        return lines;
    }

    private static string Count(int n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";

    private static string F(double v) => double.IsNaN(v) ? "NaN" : v.ToString("G6", CultureInfo.InvariantCulture);
}
