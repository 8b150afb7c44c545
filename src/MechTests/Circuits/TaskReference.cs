using System.Security.Cryptography;
using MechTests.Tasks;

namespace MechTests.Circuits;

/// <summary>
/// The task a circuit was found on: either a task file (<see cref="Path"/> relative to the circuit file's folder, with
/// its <see cref="Sha256"/>) or the pairs themselves, inline as token ids.
/// </summary>
public sealed record TaskReference
{
    /// <summary>Task name.</summary>
    public required string Name { get; init; }

    /// <summary>Metric name (<c>logit_diff</c>, <c>prob_diff</c>, <c>kl</c>, <c>logprob</c>).</summary>
    public required string Metric { get; init; }

    /// <summary>Task file path relative to the circuit file's folder ('/' separators), or null when inline.</summary>
    public string? Path { get; init; }

    /// <summary>SHA-256 of the task file's bytes (with <see cref="Path"/>).</summary>
    public string? Sha256 { get; init; }

    /// <summary>Inline pairs (token ids), or null when the task is referenced by path.</summary>
    public IReadOnlyList<PromptPair>? Pairs { get; init; }

    /// <summary>The pairs inline: the circuit file is self-contained.</summary>
    public static TaskReference Inline(MechTask task) => new() { Name = task.Name, Metric = MetricNames.Of(task.Metric), Pairs = task.Pairs };

    /// <summary>
    /// A reference to the task's file (which must have been loaded from one), stored relative to
    /// <paramref name="circuitFolder"/> with '/' separators so the file reads the same on every OS.
    /// </summary>
    public static TaskReference ToFile(MechTask task, string circuitFolder)
    {
        if (task.SourcePath == null || task.Sha256 == null)
            throw new ArgumentException($"Task '{task.Name}' was not loaded from a file; use TaskReference.Inline.");
        string rel = System.IO.Path.GetRelativePath(System.IO.Path.GetFullPath(circuitFolder), System.IO.Path.GetFullPath(task.SourcePath)).Replace('\\', '/');
        return new TaskReference { Name = task.Name, Metric = MetricNames.Of(task.Metric), Path = rel, Sha256 = task.Sha256 };
    }

    /// <summary>
    /// The task itself: the inline pairs, or the referenced file loaded and checked against <see cref="Sha256"/>
    /// (a changed task file is an error that names both hashes).
    /// </summary>
    public MechTask Resolve(string circuitFilePath, Models.Tokenizers.ITokenizer? tokenizer, int vocabSize)
    {
        var metric = MetricNames.Parse(Metric) ?? throw new InvalidDataException($"{circuitFilePath}: task.metric '{Metric}' is unknown; expected one of {MetricNames.All}.");
        if (Pairs != null) return new MechTask(Name, metric, Pairs, circuitFilePath);
        string full = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(circuitFilePath)) ?? ".", Path!);
        if (!File.Exists(full)) throw new FileNotFoundException($"{circuitFilePath}: task.path '{Path}' not found (looked for {full}).", full);
        string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(full)));
        if (Sha256 != null && !string.Equals(sha, Sha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{circuitFilePath}: task file '{Path}' has changed since the circuit was written (sha256 {sha}, circuit records {Sha256}); re-run discovery or restore the task file.");
        return MechTask.Load(full, tokenizer, vocabSize);
    }
}
