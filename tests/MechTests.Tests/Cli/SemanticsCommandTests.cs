using System.Text.Json;
using MechTests.Models.Loading;
using Xunit;

namespace MechTests.Tests.Cli;

/// <summary>
/// logit-lens, dla and attention on the GPT-2 fixture model, compared with the independent PyTorch reference
/// (tests/reference/make_semantics_fixtures.py and make_fixtures.py); bad input exits 2 naming the problem.
/// </summary>
public class SemanticsCommandTests
{
    private static readonly string Gpt2 = TestPaths.Fixture(Path.Combine("reference", "gpt2"));
    private static readonly string Task = TestPaths.Fixture(Path.Combine("semantics", "gpt2", "task.json"));
    private static JsonElement Expected => JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(Path.Combine("semantics", "gpt2", "expected.json")))).RootElement;

    [Fact]
    public void DlaPrintsScoresThatMatchPyTorchAndAddUpToTheCleanMetric()
    {
        var (code, stdout, stderr) = CliRunner.Run("dla", "--model", Gpt2, "--task", Task, "--json");
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("logit_diff", json.GetProperty("metric").GetString());
        Assert.Contains("scale frozen from the clean run", json.GetProperty("convention").GetString());
        var scores = json.GetProperty("scores");
        var expected = Expected.GetProperty("dla").GetProperty("components");
        Assert.Equal(expected.EnumerateObject().Count(), scores.EnumerateObject().Count());
        foreach (var p in expected.EnumerateObject())
            Assert.True(Math.Abs(p.Value.GetDouble() - scores.GetProperty(p.Name).GetDouble()) < 1e-4, p.Name);
        double sum = scores.EnumerateObject().Sum(p => p.Value.GetDouble()) + json.GetProperty("constants").EnumerateObject().Sum(p => p.Value.GetDouble());
        Assert.Equal(json.GetProperty("metric_clean").GetDouble(), sum, 4);
        Assert.Equal(Expected.GetProperty("metric_clean").GetDouble(), sum, 4);
    }

    [Fact]
    public void LogitLensPrintsEveryBoundaryMatchingPyTorch()
    {
        var (code, stdout, stderr) = CliRunner.Run("logit-lens", "--model", Gpt2, "--task", Task, "--json");
        Assert.True(code == 0, stderr);
        var layers = JsonDocument.Parse(stdout).RootElement.GetProperty("layers").EnumerateArray().ToArray();
        var expected = Expected.GetProperty("logit_lens").EnumerateArray().ToArray();
        Assert.Equal(new[] { "resid_pre.0", "resid_pre.1", "resid_pre.2", "resid_post.2" }, layers.Select(l => l.GetProperty("name").GetString()));
        for (int i = 0; i < layers.Length; i++)
        {
            Assert.True(Math.Abs(expected[i].GetProperty("clean_metric").GetDouble() - layers[i].GetProperty("metric").GetDouble()) < 1e-3, $"layer {i}");
            Assert.True(Math.Abs(expected[i].GetProperty("corrupted_correct_prob").GetDouble()
                                 - layers[i].GetProperty("corrupted").GetProperty("correct_prob").GetDouble()) < 1e-5, $"layer {i}");
        }
    }

    [Fact]
    public void AttentionPrintsPatternsMatchingPyTorchAndHeadScores()
    {
        var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(Gpt2, "reference.json"))).RootElement;
        var tokens = meta.GetProperty("tokens")[0].EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var (code, stdout, stderr) = CliRunner.Run("attention", "--model", Gpt2, "--tokens", string.Join(",", tokens), "--layer", "1", "--json");
        Assert.True(code == 0, stderr);
        var patterns = JsonDocument.Parse(stdout).RootElement.GetProperty("patterns");
        Assert.Equal(new[] { "a1.h0", "a1.h1", "a1.h2", "a1.h3" }, patterns.EnumerateObject().Select(p => p.Name));
        using var reference = SafeTensorsFile.Open(Path.Combine(Gpt2, "reference.safetensors"));
        var expected = reference.GetTensor("act.blocks.1.attn.hook_pattern"); // [2,H,p,p]; row 0 is our prompt
        int n = tokens.Length;
        for (int h = 0; h < 4; h++)
        {
            var rows = patterns.GetProperty($"a1.h{h}").EnumerateArray().ToArray();
            for (int q = 0; q < n; q++)
                for (int k = 0; k < n; k++)
                    Assert.True(Math.Abs(expected[(h * n + q) * n + k] - rows[q][k].GetDouble()) < 1e-5, $"a1.h{h} [{q},{k}]");
        }

        var (code2, stdout2, stderr2) = CliRunner.Run("attention", "--model", Gpt2, "--scores", "--task", Task, "--to-position", "-2", "--json");
        Assert.True(code2 == 0, stderr2);
        var scores = JsonDocument.Parse(stdout2).RootElement.GetProperty("scores");
        Assert.Equal(new[] { "previous_token", "induction", "duplicate_token", "attention_to_position" }, scores.EnumerateObject().Select(p => p.Name));
        foreach (var table in scores.EnumerateObject())
        {
            Assert.Equal(12, table.Value.EnumerateObject().Count());
            Assert.All(table.Value.EnumerateObject(), s => Assert.InRange(s.Value.GetDouble(), 0, 1));
        }
    }

    [Fact]
    public void BadSemanticsInputExitsWith2NamingTheProblem()
    {
        var (code, stdout, stderr) = CliRunner.Run("dla", "--model", Gpt2, "--task", Task, "--granularity", "qkv", "--json");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("no direct path to the logits", stderr);
        var (code2, _, stderr2) = CliRunner.Run("attention", "--model", Gpt2, "--scores", "--to-position", "3", "--json");
        Assert.Equal(2, code2);
        Assert.Contains("need --task", stderr2);
        var (code3, _, stderr3) = CliRunner.Run("attention", "--model", Gpt2, "--tokens", "1,2", "--layer", "7", "--json");
        Assert.Equal(2, code3);
        Assert.Contains("--layer 7: expected 0..2", stderr3);
        var (code4, _, stderr4) = CliRunner.Run("attention", "--scores", "--task", "tasks/name-copy.json", "--to-token", " Lily", "--json");
        Assert.Equal(2, code4);
        Assert.Contains("pair 3: its clean prompt has no token ' Lily'", stderr4);
    }
}
