using System.Text.Json;

namespace MechTests.Models.Tokenizers;

/// <summary>Reading tokenizer JSON files with errors that name the file and the field.</summary>
internal static class JsonFiles
{
    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = 256 };

    /// <summary>Parses <paramref name="path"/>; malformed JSON becomes an <see cref="InvalidDataException"/> naming it.</summary>
    public static JsonDocument Parse(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Utf8Input.RequireJson(bytes, path);
        try
        {
            return JsonDocument.Parse(bytes, s_options);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message})", ex);
        }
    }

    /// <summary>A property that is present and not JSON null, else null.</summary>
    public static JsonElement? Optional(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out JsonElement v) && v.ValueKind != JsonValueKind.Null
            ? v : null;

    /// <summary>A required property of the given kind.</summary>
    public static JsonElement Require(string path, JsonElement obj, string name, string where, JsonValueKind kind)
    {
        JsonElement v = Optional(obj, name)
            ?? throw new InvalidDataException($"{path}: {Join(where, name)} is missing; expected {Describe(kind)}.");
        if (v.ValueKind != kind)
            throw new InvalidDataException($"{path}: {Join(where, name)} is {Describe(v.ValueKind)}; expected {Describe(kind)}.");
        return v;
    }

    /// <summary>An optional string property (null when absent).</summary>
    public static string? OptionalString(string path, JsonElement obj, string name, string where)
    {
        JsonElement? v = Optional(obj, name);
        if (v is null) return null;
        if (v.Value.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{path}: {Join(where, name)} is {Describe(v.Value.ValueKind)}; expected a string.");
        return v.Value.GetString()!;
    }

    /// <summary>An optional boolean property.</summary>
    public static bool? OptionalBool(string path, JsonElement obj, string name, string where)
    {
        JsonElement? v = Optional(obj, name);
        if (v is null) return null;
        return v.Value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"{path}: {Join(where, name)} is {Describe(v.Value.ValueKind)}; expected true or false."),
        };
    }

    /// <summary>An element that must be a 32-bit integer.</summary>
    public static int Int(string path, JsonElement v, string where)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
            throw new InvalidDataException($"{path}: {where} is {Describe(v.ValueKind, v)}; expected an integer id.");
        return i;
    }

    /// <summary>Reads a <c>{"token": id, …}</c> vocabulary object.</summary>
    public static List<(string Token, int Id)> ReadVocab(string path, JsonElement vocab, string where)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: {where} is {Describe(vocab.ValueKind)}; expected an object of token → id.");
        var list = new List<(string, int)>();
        foreach (JsonProperty p in vocab.EnumerateObject())
            list.Add((p.Name, Int(path, p.Value, $"{where}[\"{BpeModel.Show(p.Name)}\"]")));
        return list;
    }

    /// <summary>"a.b" paths for messages.</summary>
    public static string Join(string where, string name) => where.Length == 0 ? name : $"{where}.{name}";

    private static string Describe(JsonValueKind kind, JsonElement? value = null) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => value is { } v ? $"the number {v.GetRawText()}" : "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "missing",
    };
}
