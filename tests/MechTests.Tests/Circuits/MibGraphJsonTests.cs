using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

public class MibGraphJsonTests
{
    [Fact]
    public void ExportThenImportGivesBackTheCircuitAndEveryScoreExactly()
    {
        var runs = CircuitFixtures.Gpt2Runs;
        var scores = CircuitFixtures.Gpt2EdgeEffects;
        var circuit = CircuitDiscovery.TopN(runs.Graph, scores, 30).Circuit;
        string json = MibGraphJson.Export(circuit, scores, dModel: 16);
        var back = MibGraphJson.Import(json, "graph.json");
        Assert.True(back.Circuit.SameMembersAs(circuit));
        Assert.Equal(16, back.DModel);
        Assert.Equal(runs.Graph.Edges.Count, back.Scores.Count);
        foreach (var e in runs.Graph.Edges) Assert.Equal(scores[e.Name], back.Scores[e.Name]); // full precision
        // Re-ranking the imported scores reproduces the circuit.
        Assert.True(CircuitDiscovery.TopN(back.Graph, back.Scores, 30).Circuit.SameMembersAs(circuit));
        // Layout: graph order, one entry per line.
        var lines = json.Split('\n');
        Assert.Equal("    \"input\": {\"in_graph\": true},", lines[3]);
        Assert.Contains(lines, l => l.StartsWith("    \"input->a0.h0<q>\": {\"score\": ", StringComparison.Ordinal));
        // "{", cfg, "nodes": {, nodes…, "},", "edges": {, edges…, "}", "}" and the final newline.
        Assert.Equal(runs.Graph.Nodes.Count + runs.Graph.Edges.Count + 7, lines.Length - 1);
    }

    [Fact]
    public void AFileWrittenByEapIgIsRead()
    {
        // As Python's json.dump writes Graph.to_json: other spacing, extra cfg keys, insertion order, node scores.
        const string json = """
            {"cfg": {"n_layers": 2, "n_heads": 4, "parallel_attn_mlp": true, "d_model": 16, "model_name": "tiny"},
             "nodes": {"input": {"in_graph": true, "score": 0.5}, "a0.h2": {"in_graph": true, "score": -1.25}, "m0": {"in_graph": false, "score": 0.0}, "m1": {"in_graph": false, "score": -Infinity},
                       "logits": {"in_graph": true, "score": NaN}},
             "edges": {"input->a0.h2<v>": {"score": 0.75, "in_graph": true}, "a0.h2->logits": {"score": -0.125, "in_graph": true},
                       "input->m0": {"score": 3.0, "in_graph": false}}}
            """;
        var g = MibGraphJson.Import(json, "eap.json");
        Assert.True(g.Graph.ParallelAttnMlp);
        Assert.Equal(["input->a0.h2<v>", "a0.h2->logits"], g.Circuit.Edges.Select(e => e.Name));
        Assert.Equal(3.0, g.Scores["input->m0"]);
        Assert.Equal(-1.25, g.NodeScores["a0.h2"]);
        Assert.False(g.NodeScores.ContainsKey("logits")); // Python's NaN: unscored
        Assert.False(g.NodeScores.ContainsKey("m1"));
        Assert.Equal(["input", "a0.h2", "logits"], g.Circuit.Nodes.Select(n => n.Name));
    }

    [Fact]
    public void AnEdgeThatTheConfigsGraphLacksIsReportedWithItsPosition()
    {
        // With parallel attention+MLP, m0 does not read layer 0's heads.
        const string json = "{\"cfg\": {\"n_layers\": 2, \"n_heads\": 4, \"parallel_attn_mlp\": true},\n \"nodes\": {},\n \"edges\": {\"a0.h1->m0\": {\"score\": 1, \"in_graph\": true}}}";
        var e = Assert.Throws<CircuitFormatException>(() => MibGraphJson.Import(json, "g.json"));
        Assert.StartsWith("g.json(3,25): edges.a0.h1->m0: edge 'a0.h1->m0' does not exist in a 2-layer, 4-head model with parallel attention/MLP: 'm0' does not read 'a0.h1'", e.Message);
        var noLayers = Assert.Throws<CircuitFormatException>(() => MibGraphJson.Import("{\"cfg\": {\"n_heads\": 4}, \"nodes\": {}, \"edges\": {}}", "g.json"));
        Assert.Equal("g.json(1,9): cfg: missing field 'n_layers'.", noLayers.Message);
    }
}
