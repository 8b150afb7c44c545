using System.Globalization;
using MechTests.Circuits;
using MechTests.Models;
using Xunit.Abstractions;

namespace MechTests.Xunit;

/// <summary>
/// One circuit file as a test row: its name (the file name without <c>.json</c>, what the row is called), its path
/// and the model it is checked on. Serializable, so each file is its own row in Test Explorer and in TRX results.
/// Reading happens in the test, so a malformed file is a failing row with the parse error (<c>file(line,col)</c>),
/// never a missing one.
/// </summary>
/// <example><code>
/// [CircuitTheory]
/// [CircuitFiles("circuits")]
/// public void EveryClaimHolds(CircuitCase circuit) => circuit.Verify(output);
/// </code></example>
public sealed class CircuitCase : IXunitSerializable
{
    /// <summary>For the serializer only.</summary>
    [Obsolete("For xUnit's serializer only.")]
    public CircuitCase() { }

    /// <summary>A row for the circuit file at <paramref name="path"/>, checked on the model at <paramref name="modelPath"/>.</summary>
    public CircuitCase(string path, string modelPath, string? snapshotBase = null)
    {
        Path = System.IO.Path.GetFullPath(path);
        ModelPath = System.IO.Path.GetFullPath(modelPath);
        Name = System.IO.Path.GetFileNameWithoutExtension(Path);
        SnapshotBase = snapshotBase ?? System.IO.Path.ChangeExtension(Path, null);
    }

    /// <summary>The circuit's name: <c>name-copy</c> for <c>circuits/name-copy.json</c>.</summary>
    public string Name { get; private set; } = "";

    /// <summary>The circuit file's full path.</summary>
    public string Path { get; private set; } = "";

    /// <summary>The model file or folder the circuit is checked on.</summary>
    public string ModelPath { get; private set; } = "";

    /// <summary>Where its snapshot lives without the suffix: <c>circuits/name-copy</c> → <c>circuits/name-copy.verified.json</c>.</summary>
    public string SnapshotBase { get; private set; } = "";

    /// <summary>Whether the model exists (rows whose model is missing are skipped unless strict).</summary>
    public bool ModelExists => File.Exists(ModelPath) || Directory.Exists(ModelPath);

    /// <summary>Reads the circuit file; throws <see cref="CircuitFormatException"/> with file(line,col) when malformed.</summary>
    public CircuitFile Read() => CircuitFile.Read(Path);

    /// <summary>The model, loaded once per test process (<see cref="ModelCache"/>).</summary>
    public LoadedModel Model => ModelCache.Get(ModelPath);

    /// <summary>
    /// Re-derives the circuit on <see cref="Model"/> (its recorded method, parameters and measurements) and compares it
    /// with its verified snapshot; writes the figures to <paramref name="output"/> whether it passes or not. Accepting
    /// follows the build facts of <paramref name="testAssembly"/> (or the calling test's) and the environment, and never
    /// happens on CI unless forced. Throws <see cref="SnapshotMismatchException"/> with the semantic diff on a mismatch.
    /// </summary>
    public CircuitFile Verify(ITestOutputHelper? output = null, System.Reflection.Assembly? testAssembly = null)
    {
        var claim = Read();
        var received = CircuitPipeline.Rederive(claim, Model);
        if (output != null) CircuitReport.Write(output, received, Name);
        var facts = BuildFacts.From(testAssembly ?? System.Reflection.Assembly.GetCallingAssembly());
        new SnapshotVerifier(facts.SnapshotSettings()).Verify(received, SnapshotBase);
        return received;
    }

    /// <summary>The row's display name: the circuit's name.</summary>
    public override string ToString() => Name;

    /// <inheritdoc />
    public void Serialize(IXunitSerializationInfo info)
    {
        info.AddValue(nameof(Path), Path);
        info.AddValue(nameof(ModelPath), ModelPath);
        info.AddValue(nameof(SnapshotBase), SnapshotBase);
    }

    /// <inheritdoc />
    public void Deserialize(IXunitSerializationInfo info)
    {
        Path = info.GetValue<string>(nameof(Path));
        ModelPath = info.GetValue<string>(nameof(ModelPath));
        SnapshotBase = info.GetValue<string>(nameof(SnapshotBase));
        Name = System.IO.Path.GetFileNameWithoutExtension(Path);
    }
}

/// <summary>Writes a circuit's measured figures, with their conventions, to a test's output.</summary>
/// <example><code>
/// CircuitReport.Write(output, CircuitPipeline.Rederive(claim, model));
/// // name-copy: 14 nodes, 56 edges (edge level); greedy on atp-star
/// //   faithfulness 0.9137 (normalized; ablation=corrupted-patch; metric=logit_diff; …)
/// </code></example>
public static class CircuitReport
{
    /// <summary>One line per metric the file holds: value, unit and conventions.</summary>
    public static void Write(ITestOutputHelper output, CircuitFile file, string? name = null)
    {
        name ??= file.SourcePath is { } p ? System.IO.Path.GetFileNameWithoutExtension(p) : file.Task.Name;
        output.WriteLine($"{name}: {file.Circuit.Nodes.Count} nodes, {file.Circuit.Edges.Count} edges ({file.Circuit.Level.ToString().ToLowerInvariant()} level); {file.Method} {string.Join(", ", file.Parameters.Select(kv => $"{kv.Key}={kv.Value}"))}");
        foreach (var (metric, e) in file.Metrics)
        {
            string extra = metric switch
            {
                "completeness" when e.Details?["normalized"] is { } n => $", normalized {n.ToJsonString()}",
                "minimality" when e.Details?["components"] is { } c => $" of {c.ToJsonString()} components not necessary",
                _ => "",
            };
            output.WriteLine($"  {metric} {e.Value.ToString("G6", CultureInfo.InvariantCulture)}{extra} ({e.Unit}; {string.Join("; ", e.Conventions.Select(kv => $"{kv.Key}={kv.Value}"))})");
        }
    }
}
