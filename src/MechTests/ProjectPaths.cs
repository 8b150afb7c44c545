using System.Reflection;

namespace MechTests;

/// <summary>
/// Where a relative path written in a test (<c>"circuits/name-copy.json"</c>, <c>"tasks/name-copy.json"</c>) points:
/// the <b>source tree</b>, never the build output. A test runs with <c>bin/&lt;config&gt;/&lt;tfm&gt;/</c> as its
/// current folder, so resolving against it would read copies there and accept snapshots into them while the
/// checked-in files stay untouched. The folders searched, in order:
/// <list type="number">
/// <item>the test project's folder — <c>MechTests.ProjectDirectory</c> baked into the test assembly by the
/// MechTests.MSBuild integration, else (for a test host running in its build output) the first folder holding a
/// <c>*.csproj</c> above the test assembly — and
/// each folder above it up to the repository root (the folder holding <c>.git</c>), so a test project under
/// <c>tests/X</c> finds the repository's <c>circuits/</c>;</item>
/// <item>the build's circuits folder (<c>$(MechTestsCircuitsDirectory)</c>), so <c>"name-copy.json"</c> works too;</item>
/// <item>the current folder, unless it lies inside the build output (the CLI runs where the user is).</item>
/// </list>
/// Absolute paths are used as they are. A file that is not found is an error naming every folder searched; a file
/// about to be created goes to the first folder (the project's).
/// </summary>
/// <example><code>
/// string claim = ProjectPaths.Resolve("circuits/name-copy.json");   // /src/MyTests/circuits/name-copy.json
/// string fresh = ProjectPaths.ResolveForWrite("circuits/new.json"); // created in the project, not in bin/
/// </code></example>
public static class ProjectPaths
{
    /// <summary>Metadata key of the project folder (written by MechTests.targets, read by <c>BuildFacts</c> too).</summary>
    public const string ProjectDirectoryKey = "MechTests.ProjectDirectory";

    /// <summary>Metadata key of the circuits folder.</summary>
    public const string CircuitsDirectoryKey = "MechTests.CircuitsDirectory";

    /// <summary>
    /// The test project's folder: from the build facts of <paramref name="assembly"/> (or, when null, of the one loaded
    /// assembly that carries them), else the first folder with a <c>*.csproj</c> above the running assembly when it
    /// runs from a build output; null when neither is known (e.g. the CLI).
    /// </summary>
    /// <example><code>
    /// string? project = ProjectPaths.ProjectDirectory(typeof(MyTests).Assembly);
    /// </code></example>
    public static string? ProjectDirectory(Assembly? assembly = null)
        => Metadata(assembly, ProjectDirectoryKey) ?? ProjectAboveOutput();

    /// <summary>The folders a relative path is looked up in, in order (full paths, no duplicates).</summary>
    /// <example><code>
    /// foreach (var folder in ProjectPaths.SearchFolders()) Console.WriteLine(folder);
    /// </code></example>
    public static IReadOnlyList<string> SearchFolders(Assembly? assembly = null)
    {
        var list = new List<string>();
        if (ProjectDirectory(assembly) is { } project)
        {
            for (var d = new DirectoryInfo(Path.GetFullPath(project)); d != null; d = d.Parent)
            {
                list.Add(d.FullName);
                if (Directory.Exists(Path.Combine(d.FullName, ".git")) || File.Exists(Path.Combine(d.FullName, ".git"))) break;
            }
            // No repository above: stop at the project's parent rather than searching the whole disk.
            if (list.Count > 2 && !Directory.Exists(Path.Combine(list[^1], ".git")) && !File.Exists(Path.Combine(list[^1], ".git")))
                list.RemoveRange(2, list.Count - 2);
        }
        if (Metadata(assembly, CircuitsDirectoryKey) is { } circuits) list.Add(Path.GetFullPath(circuits));
        string cwd = Path.GetFullPath(Directory.GetCurrentDirectory());
        if (!IsInOutput(cwd)) list.Add(cwd);
        return list.Select(Trim).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// <paramref name="path"/> as an existing file or folder: unchanged when rooted; otherwise the first match in
    /// <see cref="SearchFolders"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing exists there; the message names every folder searched.</exception>
    /// <example><code>
    /// var claim = CircuitFile.Read(ProjectPaths.Resolve("circuits/name-copy.json"));
    /// </code></example>
    public static string Resolve(string path, Assembly? assembly = null, string what = "File")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Path.IsPathRooted(path))
        {
            if (Exists(path)) return Path.GetFullPath(path);
            throw new FileNotFoundException($"{what} not found: {path}", path);
        }
        var folders = SearchFolders(assembly);
        foreach (var folder in folders)
        {
            string candidate = Path.GetFullPath(Path.Combine(folder, path));
            if (Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(NotFoundMessage(path, folders, what), path);
    }

    /// <summary>The first existing match, or null (see <see cref="Resolve"/>).</summary>
    /// <example><code>
    /// string? found = ProjectPaths.TryResolve("circuits");
    /// </code></example>
    public static string? TryResolve(string path, Assembly? assembly = null)
    {
        if (Path.IsPathRooted(path)) return Exists(path) ? Path.GetFullPath(path) : null;
        return SearchFolders(assembly).Select(f => Path.GetFullPath(Path.Combine(f, path))).FirstOrDefault(Exists);
    }

    /// <summary>
    /// Where to write <paramref name="path"/>: an existing match (see <see cref="Resolve"/>), else the path in the first
    /// search folder (the project's); a rooted path inside the build output is mapped to the source tree
    /// (<see cref="InSourceTree"/>).
    /// </summary>
    /// <example><code>
    /// new CircuitFile { … }.Write(ProjectPaths.ResolveForWrite("circuits/new.json"));
    /// </code></example>
    public static string ResolveForWrite(string path, Assembly? assembly = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Path.IsPathRooted(path)) return InSourceTree(path, assembly);
        var folders = SearchFolders(assembly);
        foreach (var folder in folders)
        {
            string candidate = Path.GetFullPath(Path.Combine(folder, path));
            if (Exists(candidate)) return candidate;
        }
        // A new file: next to its folder if that folder exists somewhere, else in the first folder.
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir))
            foreach (var folder in folders)
                if (Directory.Exists(Path.Combine(folder, dir))) return Path.GetFullPath(Path.Combine(folder, path));
        return Path.GetFullPath(Path.Combine(folders.Count > 0 ? folders[0] : Directory.GetCurrentDirectory(), path));
    }

    /// <summary>
    /// A full path inside the build output (<c>bin/…</c>, where copies of circuit files land) mapped to the same
    /// relative path in the project folder; any other path unchanged. Snapshots are read from and written to the
    /// source tree only, so accepting updates the file that is committed.
    /// </summary>
    /// <example><code>
    /// // /src/MyTests/bin/Release/net10.0/circuits/x.verified.json → /src/MyTests/circuits/x.verified.json
    /// string snapshot = ProjectPaths.InSourceTree(path);
    /// </code></example>
    public static string InSourceTree(string fullPath, Assembly? assembly = null)
    {
        string full = Path.GetFullPath(fullPath);
        if (!IsInOutput(full) || ProjectDirectory(assembly) is not { } project) return full;
        string rel = Path.GetRelativePath(OutputDirectory, full);
        return Path.GetFullPath(Path.Combine(project, rel));
    }

    /// <summary>
    /// <c>%NAME%</c> in <paramref name="path"/> replaced by the environment variable <c>NAME</c> (through
    /// <paramref name="getVariable"/>, default the process environment); unknown names are left as written.
    /// </summary>
    /// <example><code>
    /// string gpt2 = ProjectPaths.ExpandVariables("%MODELS%/gpt2");   // /cache/models/gpt2 with MODELS=/cache/models
    /// </code></example>
    public static string ExpandVariables(string path, Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var sb = new System.Text.StringBuilder();
        int i = 0;
        while (i < path.Length)
        {
            int start = path.IndexOf('%', i);
            int end = start < 0 ? -1 : path.IndexOf('%', start + 1);
            if (start < 0 || end < 0)
            {
                sb.Append(path, i, path.Length - i);
                break;
            }
            sb.Append(path, i, start - i);
            string name = path[(start + 1)..end];
            if (name.Length > 0 && getVariable(name) is { } value)
            {
                sb.Append(value);
                i = end + 1;
            }
            else
            {
                sb.Append('%');
                i = start + 1;
            }
        }
        return sb.ToString();
    }

    /// <summary>The "not found" text: the path and every folder searched.</summary>
    /// <example><code>
    /// throw new FileNotFoundException(ProjectPaths.NotFoundMessage("circuits/x.json", ProjectPaths.SearchFolders()));
    /// </code></example>
    public static string NotFoundMessage(string path, IReadOnlyList<string> folders, string what = "File")
        => $"{what} not found: {path} (relative paths resolve against the test project, not bin/; searched {string.Join(", ", folders)}).";

    // The running assembly's folder (bin/<config>/<tfm>/ for a test), without a trailing separator.
    private static string OutputDirectory => Trim(Path.GetFullPath(AppContext.BaseDirectory));

    private static bool IsInOutput(string fullPath)
    {
        string output = OutputDirectory;
        string p = Trim(fullPath);
        return p.Equals(output, PathComparison) || p.StartsWith(output + Path.DirectorySeparatorChar, PathComparison);
    }

    // A test host runs in its build output (bin/<config>/<tfm>/, the current folder); its project is the first folder
    // above holding a .csproj. A tool started elsewhere (the CLI by `dotnet run --project`) has no project: the user's
    // current folder is what its relative paths mean.
    private static string? ProjectAboveOutput()
    {
        if (!IsInOutput(Path.GetFullPath(Directory.GetCurrentDirectory()))) return null;
        var output = new DirectoryInfo(OutputDirectory);
        if (!output.FullName.Split(Path.DirectorySeparatorChar).Contains("bin")) return null;
        for (var d = output.Parent; d != null; d = d.Parent)
            if (d.EnumerateFiles("*.csproj").Any()) return d.FullName;
        return null;
    }

    private static string? Metadata(Assembly? assembly, string key)
    {
        if (assembly != null) return Value(assembly, key);
        // The test assembly is the one loaded assembly that carries the build facts; with several, none is chosen.
        string? found = null;
        foreach (var a in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (a.IsDynamic) continue;
            string? v;
            try { v = Value(a, key); }
            catch (Exception e) when (e is TypeLoadException or FileNotFoundException or FileLoadException) { continue; }
            if (v == null) continue;
            if (found != null && !string.Equals(found, v, StringComparison.Ordinal)) return null;
            found = v;
        }
        return found;
    }

    private static string? Value(Assembly a, string key)
    {
        foreach (var m in a.GetCustomAttributes<AssemblyMetadataAttribute>())
            if (m.Key == key && !string.IsNullOrWhiteSpace(m.Value)) return m.Value;
        return null;
    }

    private static bool Exists(string p) => File.Exists(p) || Directory.Exists(p);

    private static string Trim(string p) => p.Length > 1 ? p.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) : p;

    private static StringComparison PathComparison => OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
}
