using MechTests.Attribution;
using MechTests.Circuits;
using MechTests.Patching;
using Xunit;

namespace MechTests.Tests.Circuits;

public class CircuitFileTests
{
    /// <summary>The whole pipeline: attribution → top-n → every evaluation → a circuit file.</summary>
    internal static CircuitFile Discover(TaskRuns runs)
    {
        var scores = EdgeAttribution.Eap(runs).Scores;
        var d = CircuitDiscovery.TopN(runs.Graph, scores, 20);
        var (cpr, cmd) = CircuitEvaluation.MibCurves(runs, scores);
        return CircuitFile.Create(d, CircuitFixtures.Identity(runs), TaskReference.Inline(runs.Task), new Dictionary<string, string> { ["scores"] = "eap/signed_mean" })
            .AddMetrics(MetricEntries.From(CircuitEvaluation.Faithfulness(runs, d.Circuit)))
            .AddMetrics(MetricEntries.Cpr(cpr), MetricEntries.Cmd(cmd))
            .AddMetrics(MetricEntries.From(CircuitEvaluation.Completeness(runs, d.Circuit, new CompletenessOptions { RandomSets = 2, GreedySteps = 1, GreedyCandidates = 3 })))
            .AddMetrics(MetricEntries.From(CircuitEvaluation.Minimality(runs, d.Circuit, 0.01)));
    }

    private static readonly Lazy<string> Canonical = new(() => Discover(CircuitFixtures.Gpt2Runs).ToJson());

    [Fact]
    public void DiscoveringTwiceGivesIdenticalBytes()
    {
        string a = Discover(CircuitFixtures.NewGpt2Runs()).ToJson();
        string b = Discover(CircuitFixtures.NewGpt2Runs()).ToJson();
        Assert.Equal(a, b);
        using var tmp = CircuitFixtures.Temp();
        Discover(CircuitFixtures.NewGpt2Runs()).Write(tmp.File("x.json"));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(a), File.ReadAllBytes(tmp.File("x.json"))); // UTF-8, no BOM
    }

    [Fact]
    public void TheCanonicalLayoutIsSortedLfOneEdgePerLine()
    {
        string text = Canonical.Value;
        Assert.DoesNotContain('\r', text);
        Assert.EndsWith("}\n", text);
        var lines = text.Split('\n');
        var topKeys = lines.Where(l => l.StartsWith("  \"", StringComparison.Ordinal) && !l.StartsWith("   ", StringComparison.Ordinal))
            .Select(l => l.Trim().Split('"')[1]).ToList();
        Assert.Equal(["circuit", "method", "metrics", "model", "schemaVersion", "task", "tolerances"], topKeys);
        var file = CircuitFile.Parse(text);
        foreach (var e in file.Circuit.Edges)
            Assert.Single(lines, l => l.Contains($"{{\"name\": \"{e.Name}\", \"score\": ", StringComparison.Ordinal));
        Assert.Contains("  \"schemaVersion\": 1,", lines);
        Assert.Contains(lines, l => l.Contains("\"weightsSha256\": \"", StringComparison.Ordinal));
        Assert.DoesNotContain("\\u003C", text); // '<' of ports stays readable
    }

    [Fact]
    public void ReadingAndWritingAgainReproducesTheBytesAndTheCircuit()
    {
        string text = Canonical.Value;
        var file = CircuitFile.Parse(text, "x.json");
        Assert.Equal(text, file.ToJson());
        var original = Discover(CircuitFixtures.Gpt2Runs);
        Assert.True(original.Circuit.SameMembersAs(file.Circuit));
        foreach (var (name, score) in original.Circuit.Scores)
            Assert.Equal(CanonicalJson.Round(score), file.Circuit.Scores[name]);
        Assert.Equal(original.Task.Pairs!.Select(p => p.Clean), file.Task.Pairs!.Select(p => p.Clean));
        Assert.Equal("top-n", file.Method);
        Assert.Equal("eap/signed_mean", file.Parameters["scores"]);
        Assert.Equal(new[] { "circuit", "clean", "cmd", "completeness", "corrupted", "cpr", "faithfulness", "minimality" }, file.Metrics.Keys);
        Assert.Equal("signed", file.Metrics["cpr"].Conventions["ranking"]);
        Assert.Equal("absolute", file.Metrics["cmd"].Conventions["ranking"]);
        Assert.True(CircuitDiff.Compare(original, file).AreEquivalent);
    }

    [Theory]
    [InlineData(0.1 + 0.2, "0.3")]
    [InlineData(-0.0, "0")]
    [InlineData(1234567.891, "1234570")]
    [InlineData(123456789.0, "123456789")]
    [InlineData(1e-7 / 3, "3.33333E-08")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(123456.5, "123456")] // exact ties (the halves are exact in binary): to the even digit
    [InlineData(123457.5, "123458")]
    [InlineData(-123456.5, "-123456")]
    [InlineData(999999.5, "1000000")] // the carry moves the exponent
    [InlineData(0.12345650000000001, "0.123457")] // not ties: these doubles lie just above / below 0.1234565
    [InlineData(0.1234565, "0.123456")]
    [InlineData(-1e-300 / 7, "-1.42857E-301")]
    [InlineData(double.NaN, "null")]
    [InlineData(double.PositiveInfinity, "null")]
    public void NumbersAreRoundedToSixSignificantDigitsInvariantly(double x, string expected)
        => Assert.Equal(expected, CanonicalJson.Number(x));

    private static (string Text, int Line, int Column) Replace(string text, string find, string replacement, int occurrence = 0)
    {
        int at = -1;
        for (int i = 0; i <= occurrence; i++) at = text.IndexOf(find, at + 1, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{find}' not found");
        int line = text[..at].Count(c => c == '\n') + 1;
        int column = at - (text.LastIndexOf('\n', Math.Max(0, at - 1)) + 1) + 1;
        return (text[..at] + replacement + text[(at + find.Length)..], line, column);
    }

    [Fact]
    public void AnEdgeThatIsNotInTheModelIsReportedAtItsFileLineAndColumn()
    {
        var file = CircuitFile.Parse(Canonical.Value);
        string first = file.Circuit.Edges.First(e => file.Circuit.Scores.ContainsKey(e.Name)).Name;
        var (text, line, col) = Replace(Canonical.Value, $"\"{first}\"", "\"a9.h0->logits\"");
        var e = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(text, "circuits/x.json"));
        Assert.Equal($"circuits/x.json({line},{col}): circuit.edges[0].name: edge 'a9.h0->logits' does not exist in a 2-layer, 4-head model: there is no node 'a9.h0'.", e.Message);
        Assert.Equal((line, col, "circuit.edges[0].name"), (e.Line, e.Column, e.Field));
    }

    [Fact]
    public void ASyntaxErrorIsReportedOneBasedWithTheFile()
    {
        // Drop the comma after "level": the reader stops at the next key, line of "nodes", column 5.
        var (text, line, _) = Replace(Canonical.Value, "\"level\": \"edge\",", "\"level\": \"edge\"");
        var e = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(text, "circuits/x.json"));
        Assert.StartsWith($"circuits/x.json({line + 1},5): invalid JSON:", e.Message);
        Assert.Null(e.Field);
    }

    [Theory]
    [InlineData("\"nLayers\": 2", "\"nLayers\": \"two\"", "model.nLayers: expected an integer, found the string \"two\".")]
    [InlineData("\"schemaVersion\": 1", "\"schemaVersion\": 4", "schemaVersion: schema version 4 was written by a newer MechTests; this version reads schema 1 to 3. Upgrade MechTests.")]
    [InlineData("\"schemaVersion\": 1", "\"schemaVersion\": 4, \"provenance\": {}", "schemaVersion: schema version 4 was written by a newer MechTests; this version reads schema 1 to 3. Upgrade MechTests.")]
    [InlineData("\"parallelAttnMlp\": false,", "\"parallelAttnMlp\": false, \"path\": \"../models/x\",", "model.path: unknown field 'path'; expected one of: architecture, dModel, nHeads, nLayers, parallelAttnMlp, vocabSize, weightsSha256.")]
    [InlineData("\"nLayers\": 2", "\"nLayers\": 2e400", "model.nLayers: number out of range for a double.")]
    [InlineData("\"level\": \"edge\"", "\"level\": \"neuron\"", "circuit.level: level 'neuron' is unknown; expected edge or node.")]
    [InlineData("\"tolerances\": {", "\"tolerance\": {", "tolerance: unknown field 'tolerance'; expected one of: circuit, method, metrics, model, schemaVersion, task, tolerances.")]
    [InlineData("\"metric\": \"logit_diff\",\n    \"name\"", "\"metric\": \"logit_difference\",\n    \"name\"", "task.metric: metric 'logit_difference' is unknown; expected one of logit_diff, prob_diff, kl, logprob.")]
    [InlineData("\"clean_tokens\": [3,", "\"clean_tokens\": [300,", "task.pairs[0].clean_tokens[0]: token id 300 is outside the model's vocabulary 0..49.")]
    [InlineData("\"clean_tokens\": [3, 17,", "\"clean_tokens\": [3,", "task.pairs: pair 0: the clean prompt has 5 tokens but the corrupted prompt has 6; positions must line up.")]
    public void SemanticErrorsNameTheFieldAndPosition(string find, string replacement, string expectedTail)
    {
        var (text, line, col) = Replace(Canonical.Value, find, replacement);
        var e = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(text, "c.json"));
        Assert.EndsWith(expectedTail, e.Message);
        Assert.StartsWith("c.json(", e.Message);
        Assert.True(e.Line >= 1 && e.Column >= 1, e.Message);
        // Errors about a value point at it; the pair-length check points at the pairs array.
        if (!expectedTail.StartsWith("task.pairs", StringComparison.Ordinal)) Assert.Equal(line, e.Line);
        if (expectedTail.StartsWith("circuit.level", StringComparison.Ordinal)) Assert.Equal(col + "\"level\": ".Length, e.Column);
    }

    [Fact]
    public void DuplicateEdgesAndEdgesWithoutTheirNodesAreErrors()
    {
        string model = "{" + Canonical.Value.Split("\"model\": {")[1].Split('}')[0].Replace("\n", " ") + "}";
        string Minimal(string nodes, string edges) =>
            "{\"circuit\": {\"edges\": [" + edges + "], \"level\": \"edge\", \"nodes\": [" + nodes + "]},\n" +
            " \"method\": {\"name\": \"manual\"}, \"model\": " + model + ",\n" +
            " \"schemaVersion\": 1, \"task\": {\"metric\": \"logit_diff\", \"name\": \"t\", \"path\": \"t.json\"}}";
        var dup = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(Minimal("\"input\", \"logits\"", "\"input->logits\", \"input->logits\""), "d.json"));
        // Column 41: the second "input->logits" starts after 23 + 15 + 2 characters of line 1.
        Assert.Equal("d.json(1,41): circuit.edges[1]: edge 'input->logits' is listed twice.", dup.Message);
        var missing = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(Minimal("\"input\"", "\"input->m0\", \"m0->logits\""), "d.json"));
        Assert.EndsWith("circuit.edges[0]: edge 'input->m0' needs node 'm0', which is not in circuit.nodes; add the node or remove the edge.", missing.Message);
        var port = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(Minimal("\"input\", \"a1.h0\"", "\"input->a1.h0\""), "d.json"));
        Assert.Contains("edges into a head name its input port, e.g. 'input->a1.h0<q>'", port.Message);
        var ok = CircuitFile.Parse(Minimal("\"input\", \"logits\"", "\"input->logits\""), "d.json");
        Assert.Equal(["input->logits"], ok.Circuit.Edges.Select(e => e.Name));
        Assert.Empty(ok.Circuit.Scores); // the compact form carries no score
    }

    [Fact]
    public void ATaskFileReferenceIsCheckedAgainstItsHash()
    {
        using var tmp = CircuitFixtures.Temp();
        File.WriteAllText(tmp.File("task.json"), """{"metric": "logit_diff", "pairs": [{"clean_tokens": [1, 2], "corrupted_tokens": [1, 3], "correct_id": 2, "wrong_id": 3}]}""");
        var task = MechTests.Tasks.MechTask.Load(tmp.File("task.json"), null, 50);
        Directory.CreateDirectory(tmp.File("circuits"));
        var reference = TaskReference.ToFile(task, tmp.File("circuits"));
        Assert.Equal("../task.json", reference.Path);
        Assert.Equal(2, reference.Resolve(tmp.File("circuits/c.json"), null, 50).Pairs[0].Clean[1]);
        File.WriteAllText(tmp.File("task.json"), """{"metric": "logit_diff", "pairs": [{"clean_tokens": [1, 4], "corrupted_tokens": [1, 3], "correct_id": 2, "wrong_id": 3}]}""");
        var e = Assert.Throws<InvalidDataException>(() => reference.Resolve(tmp.File("circuits/c.json"), null, 50));
        Assert.Contains("has changed since the circuit was written", e.Message);
    }

    [Fact]
    public void AModelPathIsWrittenAsSchemaTwoReadBackAndResolvedAgainstTheCircuitsFolder()
    {
        var file = CircuitFile.Parse(Canonical.Value).WithModelPath("..\\models/gpt2-small");
        string text = file.ToJson();
        Assert.Contains("  \"schemaVersion\": 2,", text.Split('\n'));
        Assert.Contains("    \"path\": \"../models/gpt2-small\",", text.Split('\n'));
        var back = CircuitFile.Parse(text, "/repo/circuits/gpt2/ioi.json");
        Assert.Equal("../models/gpt2-small", back.ModelPath);
        Assert.Equal(2, back.SchemaVersion);
        Assert.Equal(Path.GetFullPath("/repo/circuits/models/gpt2-small"), back.ResolveModelPath());
        Assert.Equal(Path.GetFullPath("/cache/gpt2"), back.WithModelPath("%MT_MODELS%/gpt2").ResolveModelPath(getVariable: v => v == "MT_MODELS" ? "/cache" : null));
        Assert.Equal(text, back.ToJson());
        // Without a path the file stays schema 1, readable by MechTests versions that know only 1.
        Assert.Null(CircuitFile.Parse(Canonical.Value).ResolveModelPath());
        Assert.Equal(1, CircuitFile.Parse(back.WithModelPath(null).ToJson()).SchemaVersion);
        Assert.Single(CircuitDiff.Compare(back, back.WithModelPath(null)).Header, h => h.Field == "model.path");
    }
}
