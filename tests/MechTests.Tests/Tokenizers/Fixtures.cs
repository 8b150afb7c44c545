using System.Text.Json;

namespace MechTests.Tests.Tokenizers;

/// <summary>Reads the reference fixtures written by tests/reference/*.py.</summary>
internal static class TokenizerFixtures
{
    public sealed record Gpt2Case(string Text, int[] Ids);

    public sealed record Llama2cCase(string Text, int[] Ids, int[] IdsNoBos, int[] Continuation, string Decoded);

    public sealed record NameCase(string Name, int[] Ids, bool SingleToken);

    private static readonly JsonSerializerOptions s_options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static readonly Lazy<IReadOnlyList<Gpt2Case>> Gpt2 = new(() => Read<Gpt2Case>("gpt2_reference.json", "cases"));
    public static readonly Lazy<IReadOnlyList<Llama2cCase>> Tok512 = new(() => Read<Llama2cCase>("tok512_reference.json", "cases"));
    public static readonly Lazy<IReadOnlyList<NameCase>> Tok512Names = new(() => Read<NameCase>("tok512_reference.json", "names"));

    private static List<T> Read<T>(string file, string property)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Fixture(Path.Combine("tokenizers", file))));
        return doc.RootElement.GetProperty(property).Deserialize<List<T>>(s_options)
            ?? throw new InvalidDataException($"{file}: '{property}' is empty.");
    }

    /// <summary>Readable text for assertion messages (control characters escaped).</summary>
    public static string Show(string s) => JsonSerializer.Serialize(s);
}
