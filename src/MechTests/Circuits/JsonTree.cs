using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MechTests.Circuits;

/// <summary>
/// A parsed JSON value that remembers where it came from (1-based line/column and JSON path), so readers can
/// report semantic errors at the exact spot. System.Text.Json's DOM keeps no positions, hence this small tree.
/// </summary>
internal sealed class JsonTree
{
    private JsonTree(JsonValueKind kind, int line, int column, string path, string file)
    {
        Kind = kind;
        Line = line;
        Column = column;
        Path = path;
        File = file;
    }

    public JsonValueKind Kind { get; }
    public int Line { get; }
    public int Column { get; }

    /// <summary>Where this value's key starts, for a value of an object (0 otherwise): unknown fields point at their name.</summary>
    public int KeyLine { get; private set; }
    public int KeyColumn { get; private set; }
    public string Path { get; }
    public string File { get; }
    public string? Text { get; private set; }
    public double Number { get; private set; }
    public List<KeyValuePair<string, JsonTree>> Properties { get; } = new();
    public List<JsonTree> Items { get; } = new();

    /// <summary>Parses UTF-8 JSON (comments and trailing commas allowed, duplicate keys rejected).</summary>
    public static JsonTree Parse(byte[] utf8, string file)
    {
        int start = utf8.Length >= 3 && utf8[0] == 0xEF && utf8[1] == 0xBB && utf8[2] == 0xBF ? 3 : 0;
        var bytes = utf8.AsSpan(start);
        if (Utf8Input.FirstInvalid(bytes) is var (_, badLine, badColumn))
            throw new CircuitFormatException(file, badLine, badColumn, null, "not valid UTF-8 here; save the file as UTF-8.") { Code = CircuitFormatException.InvalidJsonCode };
        if (Utf8Input.FirstLoneSurrogateEscape(bytes) is var (_, escLine, escColumn))
            throw new CircuitFormatException(file, escLine, escColumn, null, "this \\u escape is half of a UTF-16 surrogate pair; no string can hold it.") { Code = CircuitFormatException.InvalidJsonCode };
        var lineStarts = new List<int> { 0 };
        for (int i = 0; i < bytes.Length; i++) if (bytes[i] == (byte)'\n') lineStarts.Add(i + 1);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var data = utf8.AsMemory(start);
        (int Line, int Column) Position(long offset)
        {
            int idx = lineStarts.BinarySearch((int)offset);
            if (idx < 0) idx = ~idx - 1;
            return (idx + 1, CharCount(data.Span, lineStarts[idx], (int)offset) + 1);
        }
        try
        {
            if (!reader.Read()) throw new CircuitFormatException(file, 1, 1, null, "the file is empty; expected a JSON object.") { Code = CircuitFormatException.InvalidJsonCode };
            var root = ReadValue(ref reader, "", file, Position);
            if (reader.Read())
            {
                var (l, c) = Position(reader.TokenStartIndex);
                throw new CircuitFormatException(file, l, c, null, "unexpected content after the end of the JSON value.") { Code = CircuitFormatException.InvalidJsonCode };
            }
            return root;
        }
        catch (JsonException e)
        {
            // LineNumber / BytePositionInLine are 0-based, the column in bytes: convert to 1-based characters.
            int line = (int)(e.LineNumber ?? 0);
            int bytePos = (int)(e.BytePositionInLine ?? 0);
            int col = line < lineStarts.Count ? CharCount(data.Span, lineStarts[line], Math.Min(data.Length, lineStarts[line] + bytePos)) + 1 : bytePos + 1;
            string msg = e.Message;
            int cut = msg.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0) msg = msg[..cut];
            throw new CircuitFormatException(file, line + 1, col, null, $"invalid JSON: {msg}", e) { Code = CircuitFormatException.InvalidJsonCode };
        }
    }

    private static int CharCount(ReadOnlySpan<byte> s, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to && i < s.Length; i++) if ((s[i] & 0xC0) != 0x80) n++; // skip UTF-8 continuation bytes
        return n;
    }

    private delegate (int Line, int Column) PositionOf(long offset);

    private static JsonTree ReadValue(ref Utf8JsonReader r, string path, string file, PositionOf position)
    {
        var (line, col) = position(r.TokenStartIndex);
        switch (r.TokenType)
        {
            case JsonTokenType.StartObject:
            {
                var node = new JsonTree(JsonValueKind.Object, line, col, path, file);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (r.Read() && r.TokenType != JsonTokenType.EndObject)
                {
                    string key = r.GetString()!;
                    var (kl, kc) = position(r.TokenStartIndex);
                    string childPath = path.Length == 0 ? key : $"{path}.{key}";
                    if (!seen.Add(key)) throw new CircuitFormatException(file, kl, kc, childPath, $"duplicate key '{key}'.") { Code = CircuitFormatException.DuplicateCode };
                    r.Read();
                    var value = ReadValue(ref r, childPath, file, position);
                    value.KeyLine = kl;
                    value.KeyColumn = kc;
                    node.Properties.Add(new(key, value));
                }
                return node;
            }
            case JsonTokenType.StartArray:
            {
                var node = new JsonTree(JsonValueKind.Array, line, col, path, file);
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                    node.Items.Add(ReadValue(ref r, $"{path}[{node.Items.Count}]", file, position));
                return node;
            }
            case JsonTokenType.String: return new JsonTree(JsonValueKind.String, line, col, path, file) { Text = r.GetString() };
            case JsonTokenType.Number:
                if (!r.TryGetDouble(out double number) || !double.IsFinite(number))
                    throw new CircuitFormatException(file, line, col, path.Length == 0 ? null : path, "number out of range for a double.") { Code = CircuitFormatException.InvalidJsonCode };
                return new JsonTree(JsonValueKind.Number, line, col, path, file) { Number = number };
            case JsonTokenType.True: return new JsonTree(JsonValueKind.True, line, col, path, file);
            case JsonTokenType.False: return new JsonTree(JsonValueKind.False, line, col, path, file);
            case JsonTokenType.Null: return new JsonTree(JsonValueKind.Null, line, col, path, file);
            default: throw new CircuitFormatException(file, line, col, path, $"unexpected {r.TokenType}.") { Code = CircuitFormatException.InvalidJsonCode };
        }
    }

    // ---- typed access with located errors ----

    /// <summary>An error located at this value; <paramref name="code"/> classifies it (default: a value not allowed here).</summary>
    public CircuitFormatException Error(string problem, string code = CircuitFormatException.InvalidValueCode)
        => new(File, Line, Column, Path.Length == 0 ? null : Path, problem) { Code = code };

    private CircuitFormatException WrongType(string expected) => Error($"expected {expected}, found {Describe()}.", CircuitFormatException.StructureCode);

    public JsonTree? Get(string key)
    {
        foreach (var (k, v) in Properties) if (k == key) return v;
        return null;
    }

    public JsonTree Require(string key)
    {
        if (Kind != JsonValueKind.Object) throw WrongType("an object");
        return Get(key) ?? throw Error($"missing field '{key}'.", CircuitFormatException.StructureCode);
    }

    public void OnlyKeys(params string[] known)
    {
        foreach (var (k, v) in Properties)
            if (Array.IndexOf(known, k) < 0)
                throw new CircuitFormatException(File, v.KeyLine, v.KeyColumn, v.Path, $"unknown field '{k}'; expected one of: {string.Join(", ", known)}.") { Code = CircuitFormatException.StructureCode };
    }

    public JsonTree AsObject() => Kind == JsonValueKind.Object ? this : throw WrongType("an object");

    public JsonTree AsArray() => Kind == JsonValueKind.Array ? this : throw WrongType("an array");

    public string AsString() => Kind == JsonValueKind.String ? Text! : throw WrongType("a string");

    public bool AsBool() => Kind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw WrongType("true or false"),
    };

    /// <summary>A number; null reads as NaN (writers store non-finite values as null).</summary>
    public double AsNumber() => Kind switch
    {
        JsonValueKind.Number => Number,
        JsonValueKind.Null => double.NaN,
        _ => throw WrongType("a number"),
    };

    public int AsInt(int min = int.MinValue)
    {
        if (Kind != JsonValueKind.Number || Number != Math.Floor(Number) || Math.Abs(Number) > int.MaxValue)
            throw WrongType("an integer");
        if (Number < min) throw Error($"must be at least {min}, found {Invariant.R(Number)}.");
        return (int)Number;
    }

    public string Describe() => Kind switch
    {
        JsonValueKind.String => $"the string \"{Text}\"",
        JsonValueKind.Number => $"the number {Invariant.R(Number)}",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Null => "null",
        _ => Kind == JsonValueKind.True ? "true" : "false",
    };

    /// <summary>Converts to a System.Text.Json node (numbers as doubles), for free-form sections.</summary>
    public JsonNode? ToNode() => Kind switch
    {
        JsonValueKind.Object => new JsonObject(Properties.Select(p => new KeyValuePair<string, JsonNode?>(p.Key, p.Value.ToNode()))),
        JsonValueKind.Array => new JsonArray(Items.Select(i => i.ToNode()).ToArray()),
        JsonValueKind.String => JsonValue.Create(Text),
        JsonValueKind.Number => JsonValue.Create(Number),
        JsonValueKind.True => JsonValue.Create(true),
        JsonValueKind.False => JsonValue.Create(false),
        _ => null,
    };

    public static JsonTree Parse(string text, string file) => Parse(Encoding.UTF8.GetBytes(text), file);
}
