using System.Reflection;
using MechTests.Circuits;
using MechTests.Models;
using Xunit.Sdk;

namespace MechTests.Xunit;

/// <summary>
/// One test row per circuit file (<c>*.json</c>, not <c>*.verified.json</c>/<c>*.received.json</c>) in a folder,
/// recursively, in ordinal path order; each row is a <see cref="CircuitCase"/> named by its circuit. The folder is
/// resolved against the folder above the build's circuits folder (<c>$(MechTestsCircuitsDirectory)</c>), the project
/// folder, the test binaries' folder, then the working folder. An empty or missing folder is an error row, not a silently empty theory.
/// </summary>
/// <example><code>
/// [CircuitTheory]
/// [CircuitFiles]                                   // $(MechTestsCircuitsDirectory), the embedded model
/// public void ClaimsHold(CircuitCase c) => c.Verify(output);
///
/// [CircuitTheory]
/// [CircuitFiles("circuits/pythia", Model = "models/pythia-70m")]
/// public void PythiaClaimsHold(CircuitCase c) => c.Verify(output);
/// </code></example>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class CircuitFilesAttribute(string? folder = null) : DataAttribute
{
    /// <summary>The folder given (null: the build's circuits folder).</summary>
    public string? Folder { get; } = folder;

    /// <summary>The model file or folder the circuits are checked on; relative to the project folder. Default: the embedded stories260K.</summary>
    public string? Model { get; set; }

    /// <inheritdoc />
    public override IEnumerable<object[]> GetData(MethodInfo testMethod)
    {
        var facts = BuildFacts.From(testMethod.DeclaringType!.Assembly);
        string folder = ResolveFolder(facts);
        string model = Model == null ? EmbeddedModels.Stories260KPath : ResolveAgainstProject(facts, Model);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"[CircuitFiles]: the circuits folder {folder} does not exist (set MechTestsCircuitsDirectory or pass the folder).");
        var files = Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(SnapshotVerifier.VerifiedSuffix, StringComparison.Ordinal) && !f.EndsWith(SnapshotVerifier.ReceivedSuffix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new FileNotFoundException($"[CircuitFiles]: no circuit files (*.json) in {folder}.");
        foreach (var f in files) yield return [new CircuitCase(f, model)];
    }

    private string ResolveFolder(BuildFacts facts)
    {
        if (Folder == null) return facts.CircuitsDirectory ?? ResolveAgainstProject(facts, "circuits");
        if (Path.IsPathRooted(Folder)) return Folder;
        foreach (var root in new[] { facts.CircuitsDirectory is { } c ? Path.GetDirectoryName(c.TrimEnd('/', '\\')) : null, facts.ProjectDirectory, AppContext.BaseDirectory })
            if (root != null && Directory.Exists(Path.Combine(root, Folder))) return Path.GetFullPath(Path.Combine(root, Folder));
        return Path.GetFullPath(Folder);
    }

    private static string ResolveAgainstProject(BuildFacts facts, string path)
        => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(facts.ProjectDirectory ?? Directory.GetCurrentDirectory(), path));
}
