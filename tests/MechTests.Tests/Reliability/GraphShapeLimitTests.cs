using MechTests.Circuits;
using MechTests.Graphs;
using MechTests.Models;
using Xunit;

namespace MechTests.Tests.Reliability;

/// <summary>
/// Issue 19, defect 1: a circuit or graph file's stated model shape used to be trusted — an 80 × 64 file built all 40
/// million graph edges before reading a single name (tens of seconds, several GB), and 2^31−1 layers ended in
/// OutOfMemoryException. Reading must cost in proportion to the file and impossible shapes are located errors.
/// </summary>
public class GraphShapeLimitTests
{
    internal static string CircuitJson(int layers, int heads, string edges = "\"input->m0\", \"m0->logits\"", string nodes = "\"input\", \"m0\"") => $$"""
        {
          "circuit": {"edges": [{{edges}}], "level": "edge", "nodes": [{{nodes}}]},
          "method": {"name": "manual"},
          "model": {"architecture": "llama", "dModel": 8192, "nHeads": {{heads}}, "nLayers": {{layers}}, "parallelAttnMlp": false,
                    "vocabSize": 32000, "weightsSha256": "{{new string('a', 64)}}"},
          "schemaVersion": 1,
          "task": {"metric": "logit_diff", "name": "t", "pairs": [{"clean_tokens": [1, 2], "corrupted_tokens": [1, 3], "correct_ids": [4], "wrong_ids": [5]}]}
        }
        """;

    [Fact]
    public void A70BShapedCircuitFileReadsInProportionToTheFile()
    {
        string json = CircuitJson(80, 64, "\"input->m0\", \"m0->a79.h63<k>\", \"a79.h63->logits\"", "\"input\", \"m0\", \"a79.h63\"");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var file = CircuitFile.Parse(json, "big.json");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(3, file.Circuit.Edges.Count);
        Assert.Equal(39_667_961, file.Circuit.Graph.EdgeCount); // the closed form, checked against enumeration below
        // Building the graph took several GB; the file is 700 bytes. 8 MB leaves room for the node table (5,202 nodes).
        Assert.True(allocated < 8_000_000, $"reading allocated {allocated:N0} bytes");
    }

    [Theory]
    [InlineData(2147483647, 64, "\"nLayers\"", "2147483647 is more than any supported model has (at most 1024)")]
    [InlineData(80, 100000, "\"nHeads\"", "100000 is more than any supported model has (at most 1024)")]
    [InlineData(1024, 1024, "\"nHeads\"", "graph edges, more than the supported 2147483647")]
    public void AShapeNoSupportedModelHasIsALocatedError(int layers, int heads, string field, string expected)
    {
        string json = CircuitJson(layers, heads);
        var e = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(json, "huge.json"));
        Assert.Equal(CircuitFormatException.InvalidValueCode, e.Code);
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("huge.json(", e.Message);
        // Located at the offending field's value: on the model line, after the key.
        string line = json.Split('\n')[e.Line - 1];
        Assert.Contains(field, line);
    }

    [Fact]
    public void AMibGraphWithAnImpossibleShapeIsALocatedError()
    {
        var e = Assert.Throws<CircuitFormatException>(() => MibGraphJson.Import("""{"cfg": {"n_layers": 2147483647, "n_heads": 64}, "nodes": {}, "edges": {}}""", "g.json"));
        Assert.Contains("g.json(1,", e.Message);
        Assert.Contains("at most 1024", e.Message);
    }

    /// <summary>
    /// The computed graph against an independent, brute-force construction of the residual-stream graph (every
    /// upstream node × every input that reads it, in child-then-parent forward order), for sequential and parallel
    /// shapes: names, order, indexes, name lookups and the edge count.
    /// </summary>
    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(3, 2, false)]
    [InlineData(3, 2, true)]
    [InlineData(5, 8, false)]
    [InlineData(6, 8, true)]
    public void TheComputedGraphEqualsABruteForceConstruction(int layers, int heads, bool parallel)
    {
        var nodes = new List<(string Name, string Kind, int Layer)> { ("input", "input", -1) };
        for (int l = 0; l < layers; l++)
        {
            for (int h = 0; h < heads; h++) nodes.Add(($"a{l}.h{h}", "head", l));
            nodes.Add(($"m{l}", "mlp", l));
        }
        nodes.Add(("logits", "logits", layers));
        bool Reads((string Name, string Kind, int Layer) child, (string Name, string Kind, int Layer) parent) =>
            parent.Kind != "logits" && (parent.Kind == "input" || child.Kind == "logits" || parent.Layer < child.Layer
                || (child.Kind == "mlp" && !parallel && parent.Layer == child.Layer && parent.Kind == "head"));
        var expected = new List<string>();
        foreach (var child in nodes.Skip(1))
            foreach (string port in child.Kind == "head" ? new[] { "<q>", "<k>", "<v>" } : [""])
                foreach (var parent in nodes.Where(p => Reads(child, p)))
                    expected.Add($"{parent.Name}->{child.Name}{port}");

        var graph = ComputeGraph.For(new ModelConfig { NLayers = layers, NHeads = heads, NKvHeads = heads, ParallelAttnMlp = parallel });
        Assert.Equal(nodes.Select(n => n.Name), graph.Nodes.Select(n => n.Name));
        Assert.Equal(expected, graph.Edges.Select(e => e.Name));
        Assert.Equal(expected.Count, graph.EdgeCount);
        Assert.Equal(expected.Count, ModelLimits.GraphEdgeCount(layers, heads, parallel));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(graph.TryEdge(expected[i], out var e));
            Assert.Equal(i, e.Index);
            Assert.Equal(graph.Edges[i], e);
        }
        Assert.Equal(Enumerable.Range(0, graph.BackwardCount), graph.Inputs.Select(i => i.BackwardIndex).Order());
        // Non-canonical spellings and impossible edges are not names in the graph.
        foreach (string bad in new[] { "a01.h0", "a0.h01", "m-1", $"m{layers}", $"a0.h{heads}", "a0.h", "ma", "logits ", "Input" })
            Assert.False(graph.TryNode(bad, out _), bad);
        foreach (string bad in new[] { "input->logits<q>", "input->a0.h0", "m0->m0", "logits->m0", $"m{layers - 1}->a{layers - 1}.h0<q>", "input->m0<q>", "input-> m0" })
            Assert.False(graph.TryEdge(bad, out _), bad);
    }
}
