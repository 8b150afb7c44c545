using System.Text.Json;

namespace MechTests.Models.Loading;

/// <summary>
/// Typed, strict access to a Hugging Face <c>config.json</c>. Every error names the file and the field. JSON
/// <c>null</c> counts as absent, as Hugging Face treats it (e.g. GPT-2's <c>"n_inner": null</c>).
/// </summary>
internal sealed class ConfigJson
{
    private readonly JsonElement _root;
    private readonly string _prefix;

    /// <summary>The config file path, used in messages.</summary>
    public string Path { get; }

    private ConfigJson(string path, JsonElement root, string prefix = "")
    {
        Path = path;
        _root = root;
        _prefix = prefix;
    }

    /// <summary>A nested object (e.g. <c>rope_parameters</c>) whose errors name <c>outer.inner</c>; null when absent.</summary>
    public ConfigJson? Nested(string field)
    {
        if (!TryGet(field, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Error(field, $"must be an object, found {Describe(v)}");
        return new ConfigJson(Path, v, _prefix + field + ".");
    }

    /// <summary>Reads and parses <paramref name="path"/>; the root must be a JSON object.</summary>
    public static ConfigJson Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: config.json not found.", path);
        JsonDocument doc;
        byte[] bytes = File.ReadAllBytes(path);
        Utf8Input.RequireJson(bytes, path);
        try
        {
            doc = JsonDocument.Parse(bytes, new JsonDocumentOptions
            {
                AllowTrailingCommas = false,
                CommentHandling = JsonCommentHandling.Disallow,
            });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {ex.Message}", ex);
        }
        // Clone detaches the root from the document so the document can be disposed now.
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: the root must be a JSON object, found {doc.RootElement.ValueKind}.");
            return new ConfigJson(path, doc.RootElement.Clone());
        }
    }

    /// <summary>An error naming the file and field.</summary>
    public InvalidDataException Error(string field, string message) => new($"{Path}: field '{_prefix}{field}' {message}.");

    /// <summary>Whether the field is present and not null.</summary>
    public bool Has(string field) => _root.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null;

    private bool TryGet(string field, out JsonElement value)
    {
        if (_root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    private JsonElement Require(string field) =>
        TryGet(field, out var v) ? v : throw Error(field, "is missing (required)");

    private static string Describe(JsonElement v)
    {
        string raw = v.GetRawText();
        if (raw.Length > 40) raw = raw[..37] + "...";
        return $"{v.ValueKind} {raw}";
    }

    private int AsInt(string field, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)
            ? i
            : throw Error(field, $"must be an integer, found {Describe(v)}");

    /// <summary>A required integer in 1..<paramref name="max"/> (a <see cref="Models.ModelLimits"/> bound).</summary>
    public int RequirePositiveInt(string field, int max = int.MaxValue)
    {
        int value = AsInt(field, Require(field));
        return Bounded(field, value, max);
    }

    /// <summary>An optional integer in 1..<paramref name="max"/>; <paramref name="fallback"/> when absent or null.</summary>
    public int OptionalPositiveInt(string field, int fallback, int max = int.MaxValue)
    {
        if (!TryGet(field, out var v)) return fallback;
        return Bounded(field, AsInt(field, v), max);
    }

    private int Bounded(string field, int value, int max)
    {
        if (value <= 0) throw Error(field, $"must be positive, found {value}");
        return value <= max ? value : throw Error(field, $"is {value}, more than MechTests supports (at most {max}; docs/reliability.md)");
    }

    /// <summary>An optional integer; for a list of integers (e.g. several EOS ids) the first one.</summary>
    public int? OptionalTokenId(string field)
    {
        if (!TryGet(field, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Array)
        {
            if (v.GetArrayLength() == 0) return null;
            return AsInt(field, v[0]);
        }
        return AsInt(field, v);
    }

    /// <summary>An optional positive finite number.</summary>
    public double OptionalPositiveNumber(string field, double fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d))
            throw Error(field, $"must be a number, found {Describe(v)}");
        return d > 0 && double.IsFinite(d) ? d : throw Error(field, $"must be a positive number, found {d}");
    }

    /// <summary>An optional boolean.</summary>
    public bool OptionalBool(string field, bool fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(field, $"must be true or false, found {Describe(v)}"),
        };
    }

    /// <summary>A required string.</summary>
    public string RequireString(string field)
    {
        var v = Require(field);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(field, $"must be a string, found {Describe(v)}");
    }

    /// <summary>An optional string.</summary>
    public string OptionalString(string field, string fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(field, $"must be a string, found {Describe(v)}");
    }
}
