using MechTests.Circuits;
using MechTests.Models;

namespace MechTests.Xunit;

/// <summary>
/// Where the model of a circuit test is. A circuit file names its model by identity (shape and weights hash), not by
/// path, so the test says where to find it: <c>Model = "models/gpt2"</c> on <see cref="CircuitFilesAttribute"/> or
/// <see cref="CircuitFactAttribute"/>; without one, the <c>MECHTESTS_MODEL</c> variable; without that, the embedded
/// stories260K (<see cref="EmbeddedModels.Stories260KPath"/>). <c>%NAME%</c> in a path is replaced by the environment
/// variable <c>NAME</c> (e.g. <c>%MODELS%/gpt2</c> for a CI cache). A relative path is looked up next to the test
/// assembly, then in the test project's folder (<see cref="BuildFacts.ProjectDirectory"/>), then in the current folder.
/// </summary>
/// <example><code>
/// string path = ModelLocator.Resolve("models/gpt2");           // e.g. /src/MyTests/bin/Release/net10.0/models/gpt2
/// if (!ModelLocator.Exists(path)) Console.WriteLine(ModelLocator.MissingReason("models/gpt2"));
/// </code></example>
public static class ModelLocator
{
    /// <summary>The variable that names the model of tests that do not name one: <c>MECHTESTS_MODEL</c>.</summary>
    /// <example><code>
    /// // MECHTESTS_MODEL=/cache/gpt2 dotnet test   → every [CircuitTheory] without Model = … uses /cache/gpt2
    /// string? fromCi = Environment.GetEnvironmentVariable(ModelLocator.ModelVariable);
    /// </code></example>
    public const string ModelVariable = "MECHTESTS_MODEL";

    /// <summary>The model a test uses: <paramref name="model"/>, else <c>MECHTESTS_MODEL</c>, else the embedded stories260K; variables expanded.</summary>
    /// <example><code>
    /// string spec = ModelLocator.Effective(null);   // "…/models/stories260K/stories260K.bin" unless MECHTESTS_MODEL is set
    /// </code></example>
    public static string Effective(string? model, Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        string spec = !string.IsNullOrWhiteSpace(model) ? model
            : getVariable(ModelVariable) is { Length: > 0 } env ? env
            : EmbeddedModels.Stories260KPath;
        return Expand(spec, getVariable);
    }

    /// <summary>
    /// The full paths <paramref name="model"/> may be at, in lookup order: itself when rooted; otherwise next to the
    /// test assembly, in <paramref name="projectDirectory"/> (when given) and in the current folder.
    /// </summary>
    /// <example><code>
    /// foreach (var candidate in ModelLocator.Candidates("models/gpt2", facts.ProjectDirectory)) Console.WriteLine(candidate);
    /// </code></example>
    public static IReadOnlyList<string> Candidates(string? model, string? projectDirectory = null, Func<string, string?>? getVariable = null)
    {
        string spec = Effective(model, getVariable);
        if (Path.IsPathRooted(spec)) return [Path.GetFullPath(spec)];
        var list = new List<string> { Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, spec)) };
        if (!string.IsNullOrEmpty(projectDirectory)) list.Add(Path.GetFullPath(Path.Combine(projectDirectory, spec)));
        list.Add(Path.GetFullPath(spec));
        return list.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The first candidate that exists (a model file or a Hugging Face folder), or the first candidate when none does.</summary>
    /// <example><code>
    /// LoadedModel model = ModelCache.Shared.Get(ModelLocator.Resolve("models/gpt2"));
    /// </code></example>
    public static string Resolve(string? model, string? projectDirectory = null, Func<string, string?>? getVariable = null)
    {
        var candidates = Candidates(model, projectDirectory, getVariable);
        return candidates.FirstOrDefault(Exists) ?? candidates[0];
    }

    /// <summary>Whether a model file or folder exists at <paramref name="path"/>.</summary>
    /// <example><code>
    /// bool present = ModelLocator.Exists(EmbeddedModels.Stories260KPath);   // true once the project is built
    /// </code></example>
    public static bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    /// <summary>
    /// Why the model cannot be used, naming every path looked at, or null when it exists: the text of a skipped
    /// test (and of the failure under strict mode).
    /// </summary>
    /// <example><code>
    /// string? why = ModelLocator.MissingReason("models/gpt2");
    /// // "model not found: /src/MyTests/bin/Release/net10.0/models/gpt2 (Model = "models/gpt2"; also looked at …)"
    /// </code></example>
    public static string? MissingReason(string? model, string? projectDirectory = null, Func<string, string?>? getVariable = null)
    {
        var candidates = Candidates(model, projectDirectory, getVariable);
        if (candidates.Any(Exists)) return null;
        string? env = (getVariable ?? Environment.GetEnvironmentVariable)(ModelVariable);
        string source = !string.IsNullOrWhiteSpace(model) ? $"Model = \"{model}\""
            : !string.IsNullOrEmpty(env) ? $"{ModelVariable} = \"{env}\""
            : "the embedded stories260K";
        string also = candidates.Count > 1 ? $"; also looked at {string.Join(", ", candidates.Skip(1))}" : "";
        return $"model not found: {candidates[0]} ({source}{also}). Put the model there, set Model = … or {ModelVariable}; " +
               $"strict mode ({BuildFacts.StrictVariable}=1 or MechTestsStrict=true) fails instead of skipping.";
    }

    private static string Expand(string spec, Func<string, string?> getVariable) => ProjectPaths.ExpandVariables(spec, getVariable);

    internal static string ExpandPath(string path, Func<string, string?>? getVariable = null) => Expand(path, getVariable ?? Environment.GetEnvironmentVariable);
}
