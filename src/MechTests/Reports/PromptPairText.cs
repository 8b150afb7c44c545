using System.Text.Json.Nodes;
using MechTests.Circuits;
using MechTests.Models.Tokenizers;
using MechTests.Tasks;

namespace MechTests.Reports;

/// <summary>One prompt pair of a task as text (or token ids where no text is known), for the report's table.</summary>
/// <param name="Clean">Clean prompt.</param>
/// <param name="Corrupted">Corrupted prompt.</param>
/// <param name="Correct">Correct answer(s).</param>
/// <param name="Wrong">Wrong answer(s).</param>
/// <example><code>
/// var pairs = PromptPairText.Decode(task, model.Tokenizer);
/// </code></example>
public sealed record PromptPairText(string Clean, string Corrupted, string Correct, string Wrong)
{
    /// <summary>The task's pairs decoded with <paramref name="tokenizer"/> (token ids when there is none).</summary>
    /// <example><code>
    /// var pairs = PromptPairText.Decode(task, model.Tokenizer);
    /// </code></example>
    public static IReadOnlyList<PromptPairText> Decode(MechTask task, ITokenizer? tokenizer)
    {
        string T(int[] ids) => tokenizer != null ? tokenizer.Decode(ids) : string.Join(",", ids.Select(i => Html.I(i)));
        string A(int[] ids) => string.Join(" | ", ids.Select(i => tokenizer != null ? tokenizer.Decode([i]) : Html.I(i)));
        return task.Pairs.Select(p => new PromptPairText(T(p.Clean), T(p.Corrupted), A(p.Correct), A(p.Wrong))).ToList();
    }

    /// <summary>
    /// The pairs as written in the circuit's task file (text fields <c>clean</c>, <c>corrupted</c>, <c>correct</c>,
    /// <c>wrong</c>; token-id pairs as ids), without a model; null when the task cannot be read.
    /// </summary>
    /// <example><code>
    /// var pairs = PromptPairText.FromTaskFile(CircuitFile.Read("circuits/name-copy.json"));
    /// </code></example>
    public static IReadOnlyList<PromptPairText>? FromTaskFile(CircuitFile file)
    {
        if (file.Task.Pairs is { } inline)
            return inline.Select(p => new PromptPairText(Ids(p.Clean), Ids(p.Corrupted), Ids(p.Correct), Ids(p.Wrong))).ToList();
        if (file.SourcePath == null || file.Task.Path == null) return null;
        string full = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file.SourcePath)) ?? ".", file.Task.Path);
        if (!File.Exists(full)) return null;
        try
        {
            if (JsonNode.Parse(File.ReadAllText(full))?["pairs"] is not JsonArray pairs) return null;
            return pairs.Select(p => new PromptPairText(Field(p, "clean"), Field(p, "corrupted"), Field(p, "correct"), Field(p, "wrong"))).ToList();
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // the report still renders; the task's own loader reports bad files where they are used
        }
    }

    private static string Ids(int[] ids) => string.Join(",", ids.Select(i => Html.I(i)));

    private static string Field(JsonNode? pair, string name)
    {
        var v = pair?[name] ?? pair?[name + (name is "clean" or "corrupted" ? "_tokens" : "_ids")];
        return v switch
        {
            null => "",
            JsonArray a => string.Join(a.All(x => x is JsonValue xv && xv.TryGetValue<string>(out _)) ? " | " : ",", a.Select(x => x is JsonValue xv && xv.TryGetValue<string>(out var s) ? s : x?.ToJsonString() ?? "")),
            JsonValue s when s.TryGetValue<string>(out var text) => text,
            _ => v.ToJsonString(),
        };
    }
}
