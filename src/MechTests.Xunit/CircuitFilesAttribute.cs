using System.Reflection;
using MechTests.Circuits;
using Xunit.Sdk;

namespace MechTests.Xunit;

/// <summary>
/// Theory data: one <see cref="CircuitCase"/> row per circuit file (<c>*.json</c>, recursively, not
/// <c>*.verified.json</c>/<c>*.received.json</c>) in a folder, or one row for a single file, in ordinal order of their
/// names. Rows are found by file name only; a malformed file is still a row (it fails with its parse error when run
/// under <see cref="CircuitTheoryAttribute"/>), and a folder that does not exist or holds no circuit file is a failing
/// test naming it — never a theory that silently has fewer rows.
/// </summary>
/// <remarks>
/// A relative path is looked up in the source tree, never in bin/ (<see cref="ProjectPaths"/>): the test project's
/// folder (<see cref="BuildFacts.ProjectDirectory"/> from the MSBuild integration, else the folder holding the
/// <c>.csproj</c> above the test assembly) and the folders above it up to the repository root, then the current folder
/// when it is not the build output. Without a path the build's circuits folder
/// (<c>$(MechTestsCircuitsDirectory)</c>) is used, else <c>circuits</c>. <c>%NAME%</c> is replaced by the environment
/// variable <c>NAME</c>.
/// </remarks>
/// <example><code>
/// public class Claims(ITestOutputHelper output)
/// {
///     [CircuitTheory, CircuitFiles("circuits")]
///     public void Holds(CircuitCase circuit) => circuit.Verify(output);
///
///     [CircuitTheory, CircuitFiles("circuits/gpt2", Model = "%MODELS%/gpt2")]
///     public void HoldsOnGpt2(CircuitCase circuit) => circuit.Verify(output);
/// }
/// </code></example>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class CircuitFilesAttribute : DataAttribute
{
    /// <summary>Rows for the circuit files under <paramref name="path"/> (a folder or one file); null: the build's circuits folder, else <c>circuits</c>.</summary>
    /// <example><code>
    /// [CircuitTheory, CircuitFiles]                                  // $(MechTestsCircuitsDirectory) or circuits/
    /// [CircuitTheory, CircuitFiles("circuits/name-copy.json")]       // one row
    /// </code></example>
    public CircuitFilesAttribute(string? path = null) => Path = path;

    /// <summary>The folder or file as written.</summary>
    /// <example><code>
    /// var where = new CircuitFilesAttribute("circuits").Path;   // "circuits"
    /// </code></example>
    public string? Path { get; }

    /// <summary>The model every row is checked on (see <see cref="ModelLocator"/>); null: <c>MECHTESTS_MODEL</c>, else the embedded stories260K.</summary>
    /// <example><code>
    /// [CircuitTheory, CircuitFiles("circuits/gpt2", Model = "models/gpt2")]
    /// </code></example>
    public string? Model { get; set; }

    /// <summary>File name pattern (default <c>*.json</c>).</summary>
    /// <example><code>
    /// [CircuitTheory, CircuitFiles("claims", Pattern = "*.circuit.json")]
    /// </code></example>
    public string Pattern { get; set; } = "*.json";

    /// <summary>Whether sub-folders are searched (default true); row names then carry the sub-folder (<c>ioi/gpt2</c>).</summary>
    /// <example><code>
    /// [CircuitTheory, CircuitFiles("circuits", Recursive = false)]
    /// </code></example>
    public bool Recursive { get; set; } = true;

    /// <summary>The rows: one <see cref="CircuitCase"/> per circuit file.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder (or file) does not exist; the message names every place looked.</exception>
    /// <exception cref="FileNotFoundException">The folder holds no circuit file.</exception>
    /// <example><code>
    /// var rows = new CircuitFilesAttribute("circuits").GetData(typeof(Claims).GetMethod("Holds")!);
    /// foreach (var row in rows) Console.WriteLine(row[0]);   // name-copy, pronoun, …
    /// </code></example>
    public override IEnumerable<object[]> GetData(MethodInfo testMethod)
    {
        ArgumentNullException.ThrowIfNull(testMethod);
        var assembly = testMethod.DeclaringType?.Assembly;
        var facts = assembly != null ? BuildFacts.From(assembly) : BuildFacts.None;
        string written = Path ?? facts.CircuitsDirectory ?? "circuits";
        string target = Locate(ModelLocator.ExpandPath(written), assembly, out var looked)
            ?? throw new DirectoryNotFoundException($"[CircuitFiles(\"{written}\")] on {testMethod.DeclaringType?.Name}.{testMethod.Name}: no such folder or file; looked at {string.Join(", ", looked)}.");
        return Rows(target, written, testMethod, assembly).Select(c => new object[] { c }).ToList();
    }

    private List<CircuitCase> Rows(string target, string written, MethodInfo testMethod, Assembly? assembly)
    {
        if (File.Exists(target)) return [CircuitCase.ForFile(target, Model, assembly)];
        var files = Directory.EnumerateFiles(target, Pattern, Recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(f => !f.EndsWith(SnapshotVerifier.VerifiedSuffix, StringComparison.OrdinalIgnoreCase)
                        && !f.EndsWith(SnapshotVerifier.ReceivedSuffix, StringComparison.OrdinalIgnoreCase))
            .Select(f => (File: f, Name: NameOf(target, f)))
            .OrderBy(x => x.Name, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            throw new FileNotFoundException($"[CircuitFiles(\"{written}\")] on {testMethod.DeclaringType?.Name}.{testMethod.Name}: no circuit files ({Pattern}, not *{SnapshotVerifier.VerifiedSuffix}) in {target}.");
        return files.Select(x => new CircuitCase(x.File, x.Name, Model, assembly)).ToList();
    }

    private static string NameOf(string folder, string file)
    {
        string rel = System.IO.Path.GetRelativePath(folder, file).Replace('\\', '/');
        return rel.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? rel[..^".json".Length] : rel;
    }

    /// <summary>The first existing folder or file for <paramref name="path"/>: rooted as is; else the source-tree folders of <see cref="ProjectPaths.SearchFolders"/> (never bin/).</summary>
    private static string? Locate(string path, Assembly? assembly, out List<string> looked)
    {
        if (System.IO.Path.IsPathRooted(path))
        {
            looked = [path];
            return Exists(path) ? System.IO.Path.GetFullPath(path) : null;
        }
        looked = ProjectPaths.SearchFolders(assembly).Select(f => System.IO.Path.GetFullPath(System.IO.Path.Combine(f, path))).Distinct(StringComparer.Ordinal).ToList();
        return looked.FirstOrDefault(Exists);
    }

    private static bool Exists(string p) => Directory.Exists(p) || File.Exists(p);
}
