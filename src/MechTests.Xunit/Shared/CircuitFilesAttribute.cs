using MechTests.Circuits;

namespace MechTests.Xunit;

// The attribute's settings, the same under xUnit v2 and v3; CircuitFilesAttribute.cs next to each adapter's project
// file derives it from that framework's DataAttribute and hands the rows (CircuitFileRows) over.

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
public sealed partial class CircuitFilesAttribute
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
}
