using System.Text.Json;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Models.Loading;
using Xunit;

namespace MechTests.Tests.Cli;

public class CliTests
{
    [Fact]
    public void GeneratePrintsThePromptFollowedByTheGreedyContinuationOnly()
    {
        var (code, stdout, _) = CliRunner.Run("generate", "--prompt", "Once upon a time", "--max-tokens", "12", "--temperature", "0");
        Assert.Equal(0, code);
        Assert.StartsWith("Once upon a time", stdout);
        // Same as the library's greedy decode of the same prompt.
        var m = ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin"));
        var ids = Generator.Generate(new Transformer(m.Config, m.Weights), m.Tokenizer!.Encode("Once upon a time", true), 12, 0, m.Tokenizer.EosId);
        Assert.Equal(m.Tokenizer.Decode(ids) + "\n", stdout);
    }

    [Fact]
    public void LogitsPrintsOneVocabularyRowPerPositionMatchingTheEngine()
    {
        var (code, stdout, _) = CliRunner.Run("logits", "--model", TestPaths.Models("stories260K/stories260K.bin"), "--tokens", "1,403,407", "--json");
        Assert.Equal(0, code);
        var rows = JsonDocument.Parse(stdout).RootElement.GetProperty("logits").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        Assert.Equal(3, rows.Length);
        Assert.All(rows, r => Assert.Equal(512, r.Length));
        var m = ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin"));
        var logits = new Transformer(m.Config, m.Weights).Run(new[] { new[] { 1, 403, 407 } }, RunOptions.Default).Logits;
        for (int p = 0; p < 3; p++)
        for (int v = 0; v < 512; v++)
            Assert.Equal(logits.Data[p * 512 + v], rows[p][v]);
    }

    [Fact]
    public void LogitsOfAHuggingFaceFolderMatchTheReference()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "reference", "llama");
        var (code, stdout, _) = CliRunner.Run("logits", "--model", folder, "--tokens", "684,283,799,632,121,987,656", "--json");
        Assert.Equal(0, code);
        var rows = JsonDocument.Parse(stdout).RootElement.GetProperty("logits").EnumerateArray().ToArray();
        Assert.Equal(7, rows.Length);
        using var reference = SafeTensorsFile.Open(Path.Combine(folder, "reference.safetensors"));
        var expected = reference.GetTensor("act.hook_logits");
        int vocab = rows[0].GetArrayLength();
        for (int p = 0; p < 7; p++)
        for (int v = 0; v < vocab; v++)
            Assert.True(Math.Abs(rows[p][v].GetSingle() - expected[p * vocab + v]) < 1e-3, $"position {p}, token {v}");
    }

    [Fact]
    public void BadInputGivesExitCode2AndAMessageNamingTheProblem()
    {
        var (code, stdout, stderr) = CliRunner.Run("logits", "--tokens", "1,x,3", "--json");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("--tokens: 'x' is not a token id", stderr);
        var (code2, _, stderr2) = CliRunner.Run("logits", "--model", "/nonexistent/model.bin", "--tokens", "1", "--json");
        Assert.Equal(2, code2);
        Assert.Contains("/nonexistent/model.bin", stderr2);
        var (code3, _, stderr3) = CliRunner.Run("logits", "--tokens", "1,9999", "--json");
        Assert.Equal(2, code3);
        Assert.Contains("9999", stderr3);
    }

    [Fact]
    public void PatchAndAttributeWriteTheDocumentedJson()
    {
        var (code, stdout, _) = CliRunner.Run("patch", "--task", "tasks/pronoun.json", "--level", "node", "--json");
        Assert.Equal(0, code);
        var patch = JsonDocument.Parse(stdout).RootElement;
        double clean = patch.GetProperty("metric_clean").GetDouble(), corrupted = patch.GetProperty("metric_corrupted").GetDouble();
        Assert.True(clean > 3 && corrupted < 0, $"pronoun: clean {clean}, corrupted {corrupted}");
        Assert.Equal(46, patch.GetProperty("effects").EnumerateObject().Count());
        Assert.Equal(corrupted - clean, patch.GetProperty("effects").GetProperty("input").GetDouble(), 1e-3);

        var (code2, stdout2, _) = CliRunner.Run("attribute", "--task", "tasks/pronoun.json", "--method", "eap", "--level", "edge", "--json");
        Assert.Equal(0, code2);
        var attr = JsonDocument.Parse(stdout2).RootElement;
        Assert.Equal("eap", attr.GetProperty("method").GetString());
        Assert.Equal("signed_mean", attr.GetProperty("aggregation").GetString());
        Assert.True(attr.GetProperty("scores").TryGetProperty("a4.h0->logits", out _));
        Assert.True(attr.GetProperty("scores").TryGetProperty("input->a0.h3<k>", out _));
        // Names print as written, so grep and eyes find them: no \u003E / \u003C escapes.
        Assert.Contains("\"input->a0.h3<k>\":", stdout2);
        Assert.DoesNotContain("\\u003", stdout2);
    }
}
