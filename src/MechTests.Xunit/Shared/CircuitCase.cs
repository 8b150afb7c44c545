using System.Reflection;
using MechTests.Circuits;
using MechTests.Models;
#if XUNIT_V3
using Xunit.Sdk;
#else
using Xunit.Abstractions;
#endif

namespace MechTests.Xunit;

/// <summary>
/// One circuit file as a theory row: its name (the file's path below the circuits folder, without <c>.json</c>), its
/// full path and the model it is checked on. It travels between discovery and execution as a few strings
/// (<see cref="IXunitSerializable"/>), so every circuit shows as its own row in Test Explorer and can be run alone;
/// <see cref="ToString"/> is the name, so rows read <c>Holds(circuit: name-copy)</c>. Nothing is read at discovery:
/// <see cref="Read"/> parses the file (and throws its <see cref="CircuitFormatException"/>) when the test runs.
/// </summary>
/// <example><code>
/// [CircuitTheory, CircuitFiles("circuits")]
/// public void Holds(CircuitCase circuit) => circuit.Verify(output);
///
/// // or by hand, outside a theory:
/// var c = CircuitCase.ForFile("circuits/name-copy.json");
/// CircuitFile claim = c.Read();
/// </code></example>
public sealed class CircuitCase : IXunitSerializable
{
    private CircuitFile? _file;

    /// <summary>For xUnit's deserializer only.</summary>
    /// <example><code>
    /// // xUnit calls this, then Deserialize; tests use CircuitCase.ForFile or [CircuitFiles].
    /// </code></example>
    [Obsolete("Called by xUnit's deserializer; use CircuitCase.ForFile or [CircuitFiles].")]
    public CircuitCase() { }

    /// <summary>A row for the circuit file at <paramref name="path"/>, named <paramref name="name"/>, checked on <paramref name="model"/>.</summary>
    /// <param name="path">The circuit file; a relative path resolves against the test project (<see cref="ProjectPaths"/>), never bin/.</param>
    /// <param name="name">The row's name (e.g. <c>sub/name-copy</c>).</param>
    /// <param name="model">The model path as written, overriding the file's <c>model.path</c> (null: the file's <c>model.path</c>, else <c>MECHTESTS_MODEL</c>, else the embedded stories260K); resolved when used.</param>
    /// <param name="testAssembly">The test assembly whose build facts (project folder, strict, accept) apply, or null for none.</param>
    /// <example><code>
    /// var row = new CircuitCase("circuits/ioi/gpt2.json", "ioi/gpt2", model: "models/gpt2", typeof(MyTests).Assembly);
    /// </code></example>
    public CircuitCase(string path, string name, string? model = null, Assembly? testAssembly = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        // Relative: the source tree (ProjectPaths), never bin/ — the snapshot then sits next to the committed file.
        Path = System.IO.Path.IsPathRooted(path) ? System.IO.Path.GetFullPath(path)
            : ProjectPaths.TryResolve(path, testAssembly) ?? ProjectPaths.ResolveForWrite(path, testAssembly);
        Name = name;
        Model = string.IsNullOrWhiteSpace(model) ? null : model;
        TestAssembly = testAssembly?.GetName().Name;
    }

    /// <summary>A row for one file, named by its file name without <c>.json</c>.</summary>
    /// <example><code>
    /// var c = CircuitCase.ForFile("circuits/name-copy.json");      // c.Name == "name-copy"
    /// </code></example>
    public static CircuitCase ForFile(string path, string? model = null, Assembly? testAssembly = null)
        => new(path, System.IO.Path.GetFileNameWithoutExtension(path), model, testAssembly);

    /// <summary>The row's name: the path below the circuits folder without <c>.json</c>, '/'-separated.</summary>
    /// <example><code>
    /// Assert.Equal("name-copy", c.Name);
    /// </code></example>
    public string Name { get; private set; } = "";

    /// <summary>Full path of the circuit file.</summary>
    /// <example><code>
    /// output.WriteLine($"claim: {c.Path}");
    /// </code></example>
    public string Path { get; private set; } = "";

    /// <summary>The model as the test wrote it (<c>%NAME%</c> not yet expanded), or null for the default.</summary>
    /// <example><code>
    /// string shown = c.Model ?? "(default model)";
    /// </code></example>
    public string? Model { get; private set; }

    /// <summary>Simple name of the test assembly whose build facts apply, or null.</summary>
    /// <example><code>
    /// bool strict = c.BuildFacts.Strict;   // read from this assembly's MechTests.* metadata
    /// </code></example>
    public string? TestAssembly { get; private set; }

    /// <summary>The build facts of <see cref="TestAssembly"/> (with the environment's overrides), or <see cref="BuildFacts.None"/> plus the environment.</summary>
    /// <example><code>
    /// if (c.BuildFacts.Strict) output.WriteLine("strict: a missing model fails");
    /// </code></example>
    public BuildFacts BuildFacts => FactsOf(TestAssembly);

    /// <summary>
    /// Where the model is (docs/circuit-format.md, "Circuits of several models"): the attribute's <see cref="Model"/>
    /// when set (see <see cref="ModelLocator.Resolve"/>); else the circuit file's <c>model.path</c>, relative to the file;
    /// else <c>MECHTESTS_MODEL</c>, else the embedded stories260K.
    /// </summary>
    /// <example><code>
    /// LoadedModel model = ModelCache.Shared.Get(c.ModelPath);
    /// </code></example>
    public string ModelPath => Model == null && FileModelPath() is { } fromFile ? fromFile : ModelLocator.Resolve(Model, BuildFacts.ProjectDirectory);

    /// <summary>Why the model cannot be used (naming the path and how to point at the model from a test), or null when it is there.</summary>
    /// <example><code>
    /// if (c.ModelMissingReason is { } why) output.WriteLine(why);
    /// </code></example>
    public string? ModelMissingReason
    {
        get
        {
            if (Model != null || FileModelPath() is not { } fromFile) return ModelLocator.MissingReason(Model, BuildFacts.ProjectDirectory);
            if (ModelLocator.Exists(fromFile)) return null;
            return $"model not found: {fromFile} (model.path \"{Read().ModelPath}\" in {Path}). Put the model there, correct model.path in the " +
                   $"circuit file, or set Model = \"…\" on [CircuitFiles]; strict mode ({BuildFacts.StrictVariable}=1 or MechTestsStrict=true) fails instead of skipping.";
        }
    }

    // The file's model.path, resolved; null when it names none or cannot be read (the row then fails with the parse error).
    private string? FileModelPath()
    {
        try
        {
            return Read().ResolveModelPath(Path);
        }
        catch (Exception e) when (e is CircuitFormatException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The snapshot base path: the circuit file without <c>.json</c> (its snapshot is <c>{SnapshotPath}.verified.json</c>, as <c>mechtests verify</c> uses).</summary>
    /// <example><code>
    /// new SnapshotVerifier().Verify(received, c.SnapshotPath);   // circuits/name-copy.verified.json
    /// </code></example>
    public string SnapshotPath => System.IO.Path.ChangeExtension(Path, null);

    /// <summary>The circuit file, parsed and validated on first use (then kept for this row).</summary>
    /// <exception cref="CircuitFormatException">The file is malformed; the message is <c>file(line,col): field: problem</c>.</exception>
    /// <example><code>
    /// CircuitFile claim = c.Read();
    /// Assert.Equal("greedy", claim.Method);
    /// </code></example>
    public CircuitFile Read() => _file ??= CircuitFile.Read(Path);

    /// <summary>The model, loaded once per test run through <paramref name="cache"/> (default <see cref="ModelCache.Shared"/>).</summary>
    /// <exception cref="ModelNotFoundException">The model is missing; the message names where it was looked for.</exception>
    /// <example><code>
    /// LoadedModel model = c.LoadModel();
    /// var received = CircuitPipeline.Rederive(c.Read(), model);
    /// </code></example>
    public LoadedModel LoadModel(ModelCache? cache = null)
    {
        if (ModelMissingReason is { } why) throw new ModelNotFoundException(ModelPath, why);
        return (cache ?? ModelCache.Shared).Get(ModelPath);
    }

    /// <summary>The row's name: what Test Explorer shows between the parentheses.</summary>
    /// <example><code>
    /// Assert.Equal("name-copy", CircuitCase.ForFile("circuits/name-copy.json").ToString());
    /// </code></example>
    public override string ToString() => Name;

    /// <summary>Writes the row as strings (xUnit calls this at discovery).</summary>
    /// <example><code>
    /// // xUnit: info.AddValue("path", …) for each field; see Deserialize.
    /// </code></example>
    public void Serialize(IXunitSerializationInfo info)
    {
        info.AddValue("name", Name);
        info.AddValue("path", Path);
        info.AddValue("model", Model);
        info.AddValue("assembly", TestAssembly);
    }

    /// <summary>Reads the row back (xUnit calls this before running it).</summary>
    /// <example><code>
    /// // xUnit: new CircuitCase() then Deserialize(info) in the process that runs the test.
    /// </code></example>
    public void Deserialize(IXunitSerializationInfo info)
    {
        Name = info.GetValue<string>("name")!;
        Path = info.GetValue<string>("path")!;
        Model = info.GetValue<string?>("model");
        TestAssembly = info.GetValue<string?>("assembly");
        _file = null;
    }

    internal static BuildFacts FactsOf(string? assemblyName)
    {
        if (assemblyName != null)
        {
            var assembly = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == assemblyName);
            if (assembly != null) return BuildFacts.From(assembly);
        }
        return BuildFacts.None with { Strict = BuildFactsStrictFromEnvironment() };
    }

    private static bool BuildFactsStrictFromEnvironment()
        => Environment.GetEnvironmentVariable(BuildFacts.StrictVariable) is { } v && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("yes", StringComparison.OrdinalIgnoreCase));
}
