using MechTests.Circuits;
using MechTests.GroundTruth;
using Xunit;

namespace MechTests.MSBuild.Tests;

/// <summary>
/// A valid circuit file made by the core (discovered on the planted induction model, so its content is known: the
/// planted edges input->a0.h1&lt;v&gt;, a0.h1->a1.h2&lt;k&gt;, a1.h2->logits on a 2-layer, 3-head model), and text
/// edits that break it in one known place.
/// </summary>
internal static class CircuitText
{
    private static readonly Lazy<(string Json, PlantedModel Model)> s_valid = new(() =>
    {
        var m = GroundTruthModels.Induction(InductionCorruption.EarlierToken);
        var spec = new DiscoverySpec { Method = "greedy", Scores = "edge-patching", N = m.CircuitEdges.Count };
        var file = CircuitPipeline.Discover(m.CreateEngine(), ModelIdentity.From(m.Config, ModelIdentity.HashWeights(m.Weights)),
            m.Task, TaskReference.Inline(m.Task), spec, EvaluationPlan.FaithfulnessOnly);
        return (file.ToJson(), m);
    });

    /// <summary>The valid file's text.</summary>
    public static string Valid => s_valid.Value.Json;

    /// <summary>The planted model the file was discovered on.</summary>
    public static PlantedModel Model => s_valid.Value.Model;

    /// <summary>
    /// <see cref="Valid"/> with role claims (schema version 3): a1.h2 promotes the answer, a0.h1 is a previous-token
    /// head on the task's prompts. The planted heads do both; the build-time check reads the claims, not their truth.
    /// </summary>
    public static string WithRoles => Replace(Valid, "\"schemaVersion\": 1",
        "\"roles\": [\n" +
        "    {\"atLeast\": 0.5, \"claim\": \"promotes-answer\", \"node\": \"a1.h2\", \"on\": \"task\"},\n" +
        "    {\"atLeast\": 0.4, \"claim\": \"previous-token-head\", \"node\": \"a0.h1\", \"on\": \"task\"}\n" +
        "  ],\n  \"schemaVersion\": 3");

    /// <summary>1-based line and column of the first occurrence of <paramref name="needle"/> at or after <paramref name="from"/>.</summary>
    public static (int Line, int Column) Where(string text, string needle, int from = 0)
    {
        int i = text.IndexOf(needle, from, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{needle}' not in the file");
        return At(text, i);
    }

    /// <summary>1-based line and column of character <paramref name="index"/>.</summary>
    public static (int Line, int Column) At(string text, int index)
    {
        int line = text[..index].Count(c => c == '\n') + 1;
        int col = index - (index == 0 ? 0 : text.LastIndexOf('\n', index - 1) + 1) + 1;
        return (line, col);
    }

    /// <summary>The text with the first occurrence of <paramref name="what"/> replaced (which must exist).</summary>
    public static string Replace(string text, string what, string with)
    {
        int i = text.IndexOf(what, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{what}' not in the file");
        return text[..i] + with + text[(i + what.Length)..];
    }

    /// <summary>
    /// One way to break the valid file: its text, the code the check must report and where (line, column) it must
    /// point — computed from the broken text itself, at the token that is wrong.
    /// </summary>
    public sealed record Broken(string Name, string Text, string Code, int Line, int Column, string Mentions);

    /// <summary>Every error class the build-time check reports, each a one-place edit of <see cref="Valid"/>.</summary>
    public static IReadOnlyList<Broken> AllBroken()
    {
        string v = Valid;
        var list = new List<Broken>();
        void Add(string name, string text, string code, (int Line, int Column) at, string mentions) => list.Add(new Broken(name, text, code, at.Line, at.Column, mentions));

        // Bad JSON: the comma after "level": "edge" removed; the parser stops at the next token, the "nodes" key.
        {
            string t = Replace(v, "\"level\": \"edge\",", "\"level\": \"edge\"");
            Add("syntax", t, CircuitFormatException.InvalidJsonCode, Where(t, "\"nodes\""), "invalid JSON");
        }
        // Unknown field: reported at its key.
        {
            string t = Replace(v, "\"schemaVersion\": 1", "\"schemaVersion\": 1,\n  \"colour\": \"blue\"");
            Add("unknown-field", t, CircuitFormatException.StructureCode, Where(t, "\"colour\""), "colour");
        }
        // Unknown node for the model's shape (2 layers: there is no a2.*), at the name.
        {
            string t = Replace(v, "\"a1.h2\",", "\"a2.h2\",");
            Add("unknown-node", t, CircuitFormatException.UnknownNameCode, Where(t, "\"a2.h2\""), "circuit.nodes[2]: node 'a2.h2' does not exist in a 2-layer, 3-head model");
        }
        // Unknown edge for the model's shape (3 heads: there is no h5), at the name.
        {
            string t = Replace(v, "\"a1.h2->logits\"", "\"a1.h5->logits\"");
            Add("unknown-edge", t, CircuitFormatException.UnknownNameCode, Where(t, "\"a1.h5->logits\""), "edge 'a1.h5->logits' does not exist in a 2-layer, 3-head model");
        }
        // Duplicate edge: the edge listed twice; the second occurrence is the one reported.
        {
            const string name = "\"a1.h2->logits\"";
            int first = v.IndexOf("{\"name\": " + name, StringComparison.Ordinal);
            Assert.True(first >= 0, "a1.h2->logits not in the valid file");
            string t = v[..first] + "{\"name\": " + name + ", \"score\": 1},\n      " + v[first..];
            int second = t.IndexOf(name, t.IndexOf(name, StringComparison.Ordinal) + 1, StringComparison.Ordinal);
            Add("duplicate-edge", t, CircuitFormatException.DuplicateCode, At(t, second), "edge 'a1.h2->logits' is listed twice");
        }
        // Dangling edge: node a0.h1 removed from circuit.nodes; the first edge that needs it is reported at its name.
        {
            string t = Replace(v, "      \"a0.h1\",\n", "");
            int edges = t.IndexOf("\"edges\"", StringComparison.Ordinal);
            int needs = t.IndexOf("\"input->a0.h1<v>\"", edges, StringComparison.Ordinal);
            Add("dangling-edge", t, CircuitFormatException.DanglingReferenceCode, At(t, needs), "edge 'input->a0.h1<v>' needs node 'a0.h1'");
        }
        // Wrong schema version: at the value.
        {
            string t = Replace(v, "\"schemaVersion\": 1", "\"schemaVersion\": 99");
            var key = Where(t, "\"schemaVersion\": 99");
            Add("schema-version", t, CircuitFormatException.SchemaVersionCode, (key.Line, key.Column + "\"schemaVersion\": ".Length), "schema version 99");
        }
        // Role claims (schema 3): an unknown node, at its name.
        string r = WithRoles;
        {
            string t = Replace(r, "\"node\": \"a1.h2\", \"on\"", "\"node\": \"a2.h2\", \"on\"");
            Add("role-unknown-node", t, CircuitFormatException.UnknownNameCode, Where(t, "\"a2.h2\""), "roles[0].node: node 'a2.h2' does not exist in a 2-layer, 3-head model");
        }
        // An unknown kind of role, at the kind.
        {
            string t = Replace(r, "\"claim\": \"promotes-answer\"", "\"claim\": \"name-mover\"");
            Add("role-unknown-claim", t, CircuitFormatException.InvalidValueCode, Where(t, "\"name-mover\""), "roles[0].claim: role 'name-mover' is unknown; expected one of promotes-answer, suppresses-answer");
        }
        // A claim without its threshold, at the claim's object.
        {
            string t = Replace(r, "{\"atLeast\": 0.4, \"claim\": \"previous-token-head\"", "{\"claim\": \"previous-token-head\"");
            Add("role-missing-threshold", t, CircuitFormatException.StructureCode, Where(t, "{\"claim\": \"previous-token-head\""), "roles[1]: missing field 'atLeast'");
        }
        return list;
    }
}
