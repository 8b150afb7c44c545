using System.Diagnostics;
using MechTests.Circuits;

namespace MechTests.Fuzz;

/// <summary>What happened to one input.</summary>
public enum Outcome
{
    /// <summary>The reader accepted it.</summary>
    Accepted,
    /// <summary>A documented exception whose message names the file (the rule's other allowed result).</summary>
    Rejected,
    /// <summary>Anything else: an undocumented exception, a message naming no file, over the time or memory cap, a hang.</summary>
    Violation,
}

/// <summary>One input's result; <see cref="Detail"/> says why for violations.</summary>
public sealed record InputResult(Outcome Outcome, string? Detail, TimeSpan Elapsed, long AllocatedBytes);

/// <summary>Counts for one target.</summary>
public sealed class TargetStats(string name)
{
    /// <summary>The target.</summary>
    public string Name { get; } = name;
    /// <summary>Inputs tried.</summary>
    public long Inputs { get; set; }
    /// <summary>Inputs accepted.</summary>
    public long Accepted { get; set; }
    /// <summary>Inputs rejected with a documented, located error.</summary>
    public long Rejected { get; set; }
    /// <summary>Rule violations.</summary>
    public List<(string Detail, byte[] Input)> Violations { get; } = [];
    /// <summary>Slowest input.</summary>
    public TimeSpan Slowest { get; set; }
    /// <summary>Most bytes one input allocated.</summary>
    public long MostAllocated { get; set; }
    /// <summary>Distinct first lines of rejection messages with the file path removed (how varied the errors were).</summary>
    public HashSet<string> DistinctErrors { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Runs inputs through a target under the rule "documented exception naming the file, or success", with a resource
/// cap per input: <see cref="TimeCap"/> of wall time and <see cref="AllocationCap"/> bytes allocated; an input still
/// running after <see cref="HangCap"/> is a hang.
/// </summary>
public sealed class FuzzRunner : IDisposable
{
    /// <summary>The exception types readers document for bad input (the CLI maps them to exit code 2).</summary>
    public static readonly Type[] Documented = [typeof(InvalidDataException), typeof(FormatException), typeof(NotSupportedException), typeof(FileNotFoundException)];

    /// <summary>Most wall time one input may take.</summary>
    public TimeSpan TimeCap { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most bytes one input may allocate: a reader must not size an allocation from an unchecked field.</summary>
    public long AllocationCap { get; init; } = 256L << 20;

    /// <summary>When an input counts as hung (the run stops: the thread cannot be reclaimed).</summary>
    public TimeSpan HangCap { get; init; } = TimeSpan.FromSeconds(30);

    private readonly string _root = Directory.CreateTempSubdirectory("mechtests-fuzz-").FullName;
    private readonly Dictionary<string, string> _folders = new(StringComparer.Ordinal);

    /// <summary>Runs one input; never throws for the input's sake.</summary>
    public InputResult Run(FuzzTarget target, byte[] input)
    {
        string path = Prepare(target, input);
        InputResult? result = null;
        var thread = new Thread(() => result = Execute(target, path), 64 << 20) { IsBackground = true, Name = "fuzz " + target.Name };
        thread.Start();
        if (!thread.Join(HangCap)) return new InputResult(Outcome.Violation, $"hang: still running after {HangCap.TotalSeconds:0} s", HangCap, 0);
        return result!;
    }

    private InputResult Execute(FuzzTarget target, string path)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Exception? error = null;
        try { target.Read(path); }
        catch (Exception e) { error = e; }
        var elapsed = clock.Elapsed;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (elapsed > TimeCap) return new InputResult(Outcome.Violation, $"took {elapsed.TotalSeconds:0.00} s (cap {TimeCap.TotalSeconds:0.#} s){Describe(error)}", elapsed, allocated);
        if (allocated > AllocationCap) return new InputResult(Outcome.Violation, $"allocated {allocated >> 20} MB (cap {AllocationCap >> 20} MB){Describe(error)}", elapsed, allocated);
        if (error == null) return new InputResult(Outcome.Accepted, null, elapsed, allocated);
        if (!Documented.Any(t => t.IsInstanceOfType(error)))
            return new InputResult(Outcome.Violation, $"undocumented {error.GetType().Name}: {error.Message}\n{error.StackTrace}", elapsed, allocated);
        string folder = Path.GetDirectoryName(path)!;
        bool named = error.Message.Contains(path, StringComparison.Ordinal) || (target.FolderLevel && error.Message.Contains(folder, StringComparison.Ordinal));
        return named
            ? new InputResult(Outcome.Rejected, error.Message, elapsed, allocated)
            : new InputResult(Outcome.Violation, $"{error.GetType().Name} does not name the file: {error.Message}", elapsed, allocated);
    }

    private static string Describe(Exception? e) => e == null ? "" : $", then {e.GetType().Name}: {e.Message}";

    // One folder per target with its companions written once; the input replaces the target file each time.
    private string Prepare(FuzzTarget target, byte[] input)
    {
        if (!_folders.TryGetValue(target.Name, out var folder))
        {
            folder = Directory.CreateDirectory(Path.Combine(_root, target.Name)).FullName;
            foreach (var (name, bytes) in target.Companions) File.WriteAllBytes(Path.Combine(folder, name), bytes);
            _folders[target.Name] = folder;
        }
        string path = Path.Combine(folder, target.FileName);
        File.WriteAllBytes(path, input);
        return path;
    }

    /// <summary>Runs <paramref name="count"/> mutated inputs (or until <paramref name="deadline"/>) and counts outcomes.</summary>
    public TargetStats Fuzz(FuzzTarget target, int seed, long count, DateTime? deadline = null, Action<TargetStats>? onViolation = null)
    {
        var stats = new TargetStats(target.Name);
        var mutator = new Mutator(seed);
        for (long i = 0; i < count && (deadline == null || DateTime.UtcNow < deadline); i++)
        {
            var seedInput = target.Seeds[mutator.Next(target.Seeds.Count)];
            var input = mutator.Mutate(seedInput, target.Json, target.HeaderBytes);
            var result = Run(target, input);
            Count(stats, result, input, Path.Combine(_folders[target.Name], target.FileName));
            if (result.Outcome == Outcome.Violation) onViolation?.Invoke(stats);
            if (result.Detail?.StartsWith("hang", StringComparison.Ordinal) == true) break;
        }
        return stats;
    }

    /// <summary>Adds one result to the counts.</summary>
    public static void Count(TargetStats stats, InputResult result, byte[] input, string path)
    {
        stats.Inputs++;
        if (result.Elapsed > stats.Slowest) stats.Slowest = result.Elapsed;
        stats.MostAllocated = Math.Max(stats.MostAllocated, result.AllocatedBytes);
        switch (result.Outcome)
        {
            case Outcome.Accepted: stats.Accepted++; break;
            case Outcome.Rejected:
                stats.Rejected++;
                string first = result.Detail!.Split('\n')[0].Replace(path, "FILE", StringComparison.Ordinal)
                    .Replace(Path.GetDirectoryName(path)!, "FOLDER", StringComparison.Ordinal);
                if (stats.DistinctErrors.Count < 100_000) stats.DistinctErrors.Add(first);
                break;
            default: stats.Violations.Add((result.Detail!, input)); break;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(_root, true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The regression corpus: inputs that once broke the rule, kept under Corpus/TARGET/ and replayed on every test run.</summary>
public static class RegressionCorpus
{
    /// <summary>The corpus folder in the source tree.</summary>
    public static string Folder => Path.Combine(FuzzTargets.RepoRoot, "tests", "MechTests.Fuzz", "Corpus");

    /// <summary>Every (target, file) of the corpus.</summary>
    public static IEnumerable<(FuzzTarget Target, string File)> Entries()
    {
        foreach (var target in FuzzTargets.All)
        {
            string folder = Path.Combine(Folder, target.Name);
            if (!Directory.Exists(folder)) continue;
            foreach (var file in Directory.GetFiles(folder).Where(f => !f.EndsWith(".md", StringComparison.Ordinal) && !f.EndsWith(".txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
                yield return (target, file);
        }
    }

    /// <summary>Saves a violating input as a new corpus candidate under <paramref name="outFolder"/>/TARGET/ (named by its hash).</summary>
    public static string Save(string outFolder, string target, byte[] input, string detail)
    {
        string folder = Directory.CreateDirectory(Path.Combine(outFolder, target)).FullName;
        string name = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(input))[..16];
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, input);
        AtomicFile.WriteAllText(path + ".txt", detail + "\n");
        return path;
    }
}
