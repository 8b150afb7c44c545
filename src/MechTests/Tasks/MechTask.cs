using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MechTests.Models.Tokenizers;

namespace MechTests.Tasks;

/// <summary>
/// A task: prompt pairs plus the answer definition and metric. Loaded from a JSON task file (see docs/tasks.md):
/// <code>{"pairs":[{"clean":"...","corrupted":"...","correct":" Lily","wrong":" Tim"}],"metric":"logit_diff"}</code>
/// Token-id pairs (<c>clean_tokens</c>, <c>corrupted_tokens</c>, <c>correct_ids</c>, <c>wrong_ids</c>) and answer
/// sets (<c>"correct": [" 51", " 52"]</c>) are accepted too.
/// </summary>
/// <example><code>
/// var task = MechTask.Load("tasks/name-copy.json", model.Tokenizer, model.Config.VocabSize);
/// Console.WriteLine($"{task.Pairs.Count} pairs, metric {MetricNames.Of(task.Metric)}");
/// </code></example>
public sealed class MechTask
{
    /// <summary>Creates a task from resolved pairs.</summary>
    public MechTask(string name, MetricKind metric, IReadOnlyList<PromptPair> pairs, string? sourcePath = null, string? sha256 = null)
    {
        if (pairs.Count == 0) throw new InvalidDataException($"{sourcePath ?? name}: the task has no pairs; add at least one to 'pairs'.");
        Name = name;
        Metric = metric;
        Pairs = pairs;
        SourcePath = sourcePath;
        Sha256 = sha256;
        foreach (var p in pairs)
        {
            if (p.Clean.Length == 0) throw new InvalidDataException($"{Where}: pair {p.Index}: the clean prompt has no tokens.");
            if (p.Clean.Length != p.Corrupted.Length)
                throw new InvalidDataException($"{Where}: pair {p.Index}: the clean prompt has {p.Clean.Length} tokens but the corrupted prompt has {p.Corrupted.Length}; positions must line up.");
            if (p.Correct.Length == 0)
                throw new InvalidDataException($"{Where}: pair {p.Index}: no correct answer given.");
            if (metric is MetricKind.LogitDiff or MetricKind.ProbDiff && p.Wrong.Length == 0)
                throw new InvalidDataException($"{Where}: pair {p.Index}: metric {MetricNames.Of(metric)} needs a wrong answer.");
        }
    }

    /// <summary>Task name (file name without extension when loaded).</summary>
    public string Name { get; }

    /// <summary>The metric.</summary>
    public MetricKind Metric { get; }

    /// <summary>The pairs, in file order.</summary>
    public IReadOnlyList<PromptPair> Pairs { get; }

    /// <summary>The file it came from, if any.</summary>
    public string? SourcePath { get; }

    /// <summary>SHA-256 of the task file's bytes, if loaded from a file.</summary>
    public string? Sha256 { get; }

    private string Where => SourcePath ?? Name;

    /// <summary>
    /// Loads and resolves a task file; errors name the file, the pair and the field. A relative path resolves against
    /// the test project and the folders above it (<see cref="ProjectPaths.Resolve"/>), never against bin/.
    /// </summary>
    public static MechTask Load(string path, ITokenizer? tokenizer, int vocabSize)
    {
        path = ProjectPaths.Resolve(path, what: "Task file");
        var bytes = File.ReadAllBytes(path);
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        return Parse(Utf8Input.Decode(bytes, path), tokenizer, vocabSize, path, Path.GetFileNameWithoutExtension(path), sha);
    }

    /// <summary>Parses task JSON text.</summary>
    public static MechTask Parse(string json, ITokenizer? tokenizer, int vocabSize, string source = "task", string? name = null, string? sha256 = null)
    {
        JsonDocument doc;
        Utf8Input.RequireJson(Encoding.UTF8.GetBytes(json), source);
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InvalidDataException($"{source}({(e.LineNumber ?? 0) + 1},{(e.BytePositionInLine ?? 0) + 1}): invalid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{source}: expected a JSON object with 'pairs' and 'metric'.");
            // Strict: a misspelled 'metrc' or a number where a name belongs is an error, not a silent default.
            OnlyKnownFields(root, RootFields, source);
            string metricName = OptionalString(root, "metric", source) ?? "logit_diff";
            _ = OptionalString(root, "description", source);
            var metric = MetricNames.Parse(metricName) ?? throw new InvalidDataException($"{source}: field 'metric' is '{metricName}'; expected one of {MetricNames.All}.");
            if (!root.TryGetProperty("pairs", out var pairsEl) || pairsEl.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{source}: field 'pairs' is missing or not an array.");
            var pairs = new List<PromptPair>();
            int i = 0;
            foreach (var p in pairsEl.EnumerateArray())
            {
                pairs.Add(ParsePair(p, i, tokenizer, vocabSize, source));
                i++;
            }
            string taskName = OptionalString(root, "name", source) ?? name ?? "task";
            return new MechTask(taskName, metric, pairs, source, sha256);
        }
    }

    private static readonly string[] RootFields = ["description", "metric", "name", "pairs"];
    private static readonly string[] PairFields =
        ["clean", "clean_tokens", "correct", "correct_id", "correct_ids", "corrupted", "corrupted_tokens", "wrong", "wrong_id", "wrong_ids"];

    private static void OnlyKnownFields(JsonElement obj, string[] known, string where)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            if (!known.Contains(property.Name))
                throw new InvalidDataException($"{where}: unknown field '{property.Name}'; expected {string.Join(", ", known)} (docs/tasks.md).");
            if (!seen.Add(property.Name)) throw new InvalidDataException($"{where}: field '{property.Name}' is given twice.");
        }
    }

    private static string? OptionalString(JsonElement obj, string field, string where)
    {
        if (!obj.TryGetProperty(field, out var v)) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new InvalidDataException($"{where}: field '{field}' must be a string, found {Describe(v)}.");
    }

    private static string Describe(JsonElement v)
    {
        string raw = v.GetRawText();
        return $"{v.ValueKind.ToString().ToLowerInvariant()} {(raw.Length > 40 ? raw[..37] + "..." : raw)}";
    }

    private static PromptPair ParsePair(JsonElement p, int index, ITokenizer? tokenizer, int vocabSize, string source)
    {
        string where = $"{source}: pair {index}";
        if (p.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected an object, found {Describe(p)}.");
        OnlyKnownFields(p, PairFields, where);
        void OneOf(params string[] fields)
        {
            var given = fields.Where(f => p.TryGetProperty(f, out _)).ToList();
            if (given.Count > 1) throw new InvalidDataException($"{where}: give one of '{string.Join("', '", given)}', not several.");
        }
        OneOf("clean", "clean_tokens");
        OneOf("corrupted", "corrupted_tokens");
        OneOf("correct", "correct_ids", "correct_id");
        OneOf("wrong", "wrong_ids", "wrong_id");
        int[] Prompt(string textField, string idsField)
        {
            if (p.TryGetProperty(idsField, out var ids)) return Ids(ids, idsField);
            if (!p.TryGetProperty(textField, out var text))
                throw new InvalidDataException($"{where}: needs '{textField}' (text) or '{idsField}' (token ids).");
            if (text.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{where}: '{textField}' must be a string, found {Describe(text)}; give ids in '{idsField}'.");
            var tok = tokenizer ?? throw new InvalidDataException($"{where}: '{textField}' is text but the model has no tokenizer; give '{idsField}' instead.");
            return tok.Encode(text.GetString()!, tok.AddsBosByDefault);
        }
        int[] Ids(JsonElement el, string field)
        {
            var list = new List<int>();
            int Id(JsonElement x) => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int v) ? v
                : throw new InvalidDataException($"{where}: '{field}' must hold integer token ids, found {Describe(x)}.");
            if (el.ValueKind == JsonValueKind.Number) list.Add(Id(el));
            else if (el.ValueKind == JsonValueKind.Array)
                foreach (var x in el.EnumerateArray()) list.Add(Id(x));
            else throw new InvalidDataException($"{where}: '{field}' must be a token id or an array of ids, found {Describe(el)}.");
            foreach (int v in list)
                if (v < 0 || v >= vocabSize) throw new InvalidDataException($"{where}: '{field}' has token id {v}, outside the vocabulary 0..{vocabSize - 1}.");
            return list.ToArray();
        }
        int[] Answers(string textField, string idsField, string idField, bool required)
        {
            if (p.TryGetProperty(idsField, out var ids)) return Ids(ids, idsField);
            if (p.TryGetProperty(idField, out var id)) return Ids(id, idField);
            if (!p.TryGetProperty(textField, out var el))
            {
                if (required) throw new InvalidDataException($"{where}: needs '{textField}' (answer text) or '{idsField}'.");
                return Array.Empty<int>();
            }
            var texts = el.ValueKind == JsonValueKind.String ? new[] { el.GetString()! }
                : el.ValueKind == JsonValueKind.Array ? el.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()!
                    : throw new InvalidDataException($"{where}: '{textField}' must be a string or an array of strings, found {Describe(x)} in the array; give ids in '{idsField}'.")).ToArray()
                : throw new InvalidDataException($"{where}: '{textField}' must be a string or an array of strings.");
            var tok = tokenizer ?? throw new InvalidDataException($"{where}: '{textField}' is text but the model has no tokenizer; give '{idsField}' instead.");
            var result = new List<int>();
            foreach (var s in texts)
            {
                var enc = tok.EncodeContinuation(s);
                if (enc.Length != 1)
                    throw new InvalidDataException($"{where}: answer '{s}' in '{textField}' is {enc.Length} tokens [{string.Join(", ", enc)}]; answers must be single tokens (try a different word or give ids).");
                if (enc[0] < 0 || enc[0] >= vocabSize)
                    throw new InvalidDataException($"{where}: answer '{s}' maps to token {enc[0]}, outside the model's vocabulary.");
                result.Add(enc[0]);
            }
            return result.ToArray();
        }
        var clean = Prompt("clean", "clean_tokens");
        var corrupted = Prompt("corrupted", "corrupted_tokens");
        var correct = Answers("correct", "correct_ids", "correct_id", required: true);
        var wrong = Answers("wrong", "wrong_ids", "wrong_id", required: false);
        return new PromptPair(index, clean, corrupted, correct, wrong);
    }
}
