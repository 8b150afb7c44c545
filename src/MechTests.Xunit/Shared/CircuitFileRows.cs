using System.Reflection;
using MechTests.Circuits;

namespace MechTests.Xunit;

/// <summary>
/// The rows of <see cref="CircuitFilesAttribute"/>, the same under xUnit v2 and v3 (only how a row is handed to the
/// framework differs): one <see cref="CircuitCase"/> per circuit file below a folder, or one for a single file.
/// </summary>
internal static class CircuitFileRows
{
    /// <summary>The rows for <paramref name="path"/> (null: the build's circuits folder, else <c>circuits</c>) as seen from <paramref name="testMethod"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder (or file) does not exist; the message names every place looked.</exception>
    /// <exception cref="FileNotFoundException">The folder holds no circuit file.</exception>
    public static List<CircuitCase> Find(string? path, string? model, string pattern, bool recursive, MethodInfo testMethod)
    {
        ArgumentNullException.ThrowIfNull(testMethod);
        var assembly = testMethod.DeclaringType?.Assembly;
        var facts = assembly != null ? BuildFacts.From(assembly) : BuildFacts.None;
        string written = path ?? facts.CircuitsDirectory ?? "circuits";
        string target = Locate(ModelLocator.ExpandPath(written), assembly, out var looked)
            ?? throw new DirectoryNotFoundException($"[CircuitFiles(\"{written}\")] on {testMethod.DeclaringType?.Name}.{testMethod.Name}: no such folder or file; looked at {string.Join(", ", looked)}.");
        if (File.Exists(target)) return [CircuitCase.ForFile(target, model, assembly)];
        var files = Directory.EnumerateFiles(target, pattern, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(f => !f.EndsWith(SnapshotVerifier.VerifiedSuffix, StringComparison.OrdinalIgnoreCase)
                        && !f.EndsWith(SnapshotVerifier.ReceivedSuffix, StringComparison.OrdinalIgnoreCase))
            .Select(f => (File: f, Name: NameOf(target, f)))
            .OrderBy(x => x.Name, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            throw new FileNotFoundException($"[CircuitFiles(\"{written}\")] on {testMethod.DeclaringType?.Name}.{testMethod.Name}: no circuit files ({pattern}, not *{SnapshotVerifier.VerifiedSuffix}) in {target}.");
        return files.Select(x => new CircuitCase(x.File, x.Name, model, assembly)).ToList();
    }

    private static string NameOf(string folder, string file)
    {
        string rel = Path.GetRelativePath(folder, file).Replace('\\', '/');
        return rel.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? rel[..^".json".Length] : rel;
    }

    /// <summary>The first existing folder or file for <paramref name="path"/>: rooted as is; else the source-tree folders of <see cref="ProjectPaths.SearchFolders"/> (never bin/).</summary>
    private static string? Locate(string path, Assembly? assembly, out List<string> looked)
    {
        if (Path.IsPathRooted(path))
        {
            looked = [path];
            return Exists(path) ? Path.GetFullPath(path) : null;
        }
        looked = ProjectPaths.SearchFolders(assembly).Select(f => Path.GetFullPath(Path.Combine(f, path))).Distinct(StringComparer.Ordinal).ToList();
        return looked.FirstOrDefault(Exists);
    }

    private static bool Exists(string p) => Directory.Exists(p) || File.Exists(p);
}
