using System.Text.Json;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Patching;
using MechTests.Semantics;
using MechTests.Tasks;
using Xunit;

namespace MechTests.Tests.Semantics;

/// <summary>
/// Logit lens, direct logit attribution and head scores against the independent PyTorch reference
/// (tests/reference/make_semantics_fixtures.py, float64) on the GPT-2, GPT-NeoX and Llama fixture models and the real
/// stories260K; and DLA's exact identity (scores + constants = the clean logit difference).
/// </summary>
public class SemanticsReferenceTests
{
    public static TheoryData<string> Models => new() { "gpt2", "gpt_neox", "llama", "stories260K" };

    private static string Fixture(string name, string file) => TestPaths.Fixture(Path.Combine("semantics", name, file));

    internal static LoadedModel Load(string name) => name == "stories260K"
        ? ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin"))
        : ModelLoader.Load(TestPaths.Fixture(Path.Combine("reference", name)));

    private static (LoadedModel Model, TaskRuns Runs, JsonElement Expected) Setup(string name)
    {
        var model = Load(name);
        var task = MechTask.Load(Fixture(name, "task.json"), null, model.Config.VocabSize);
        var runs = TaskRuns.Create(new Transformer(model.Config, model.Weights), task);
        return (model, runs, JsonDocument.Parse(File.ReadAllText(Fixture(name, "expected.json"))).RootElement);
    }

    private static void Near(double expected, double actual, double tolerance, string what)
        => Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:G3})");

    [Theory]
    [MemberData(nameof(Models))]
    public void LogitLensMatchesPyTorch(string name)
    {
        var (model, runs, expected) = Setup(name);
        using var _ = runs;
        var lens = LogitLens.Run(runs, model.Weights);
        var layers = expected.GetProperty("logit_lens").EnumerateArray().ToArray();
        Assert.Equal(layers.Select(l => l.GetProperty("name").GetString()), lens.Layers.Select(l => l.HookPoint));
        Assert.Equal($"resid_pre.0", lens.Layers[0].Name);
        Assert.Equal($"resid_post.{model.Config.NLayers - 1}", lens.Layers[^1].Name);
        for (int i = 0; i < layers.Length; i++)
        {
            var e = layers[i];
            var a = lens.Layers[i];
            double tol = 2e-4 * (1 + Math.Abs(e.GetProperty("clean_metric").GetDouble()));
            Near(e.GetProperty("clean_metric").GetDouble(), a.CleanMetric, tol, $"{a.Name} clean metric");
            Near(e.GetProperty("corrupted_metric").GetDouble(), a.CorruptedMetric, tol, $"{a.Name} corrupted metric");
            Near(e.GetProperty("clean_correct_prob").GetDouble(), a.Clean.CorrectProbability, 1e-5, $"{a.Name} p(correct)");
            Near(e.GetProperty("corrupted_wrong_prob").GetDouble(), a.Corrupted.WrongProbability!.Value, 1e-5, $"{a.Name} corrupted p(wrong)");
            // Ranks deep in the vocabulary can swap with a near-tied token in float32: allow one place in one pair.
            Near(e.GetProperty("clean_correct_rank").GetDouble(), a.Clean.CorrectRank, 1.0 / runs.PairCount + 1e-9, $"{a.Name} rank(correct)");
            Near(e.GetProperty("corrupted_wrong_rank").GetDouble(), a.Corrupted.WrongRank!.Value, 1.0 / runs.PairCount + 1e-9, $"{a.Name} corrupted rank(wrong)");
        }
        // The last boundary read through the final norm is the model's own output: the lens there is the metric.
        Near(runs.CleanMetric, lens.Layers[^1].CleanMetric, 1e-4, "final boundary = clean metric");
        Near(runs.CorruptedMetric, lens.Layers[^1].CorruptedMetric, 1e-4, "final boundary = corrupted metric");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void DirectLogitAttributionMatchesPyTorchAndAddsUpToTheCleanMetric(string name)
    {
        var (model, runs, expected) = Setup(name);
        using var _ = runs;
        var dla = DirectLogitAttribution.Run(runs, model.Weights);
        var comp = expected.GetProperty("dla").GetProperty("components");
        var consts = expected.GetProperty("dla").GetProperty("constants");
        Assert.Equal(comp.EnumerateObject().Select(p => p.Name).Order(), dla.Scores.Keys.Order());
        Assert.Equal(consts.EnumerateObject().Select(p => p.Name).Order(), dla.Constants.Keys.Order());
        foreach (var p in comp.EnumerateObject()) Near(p.Value.GetDouble(), dla.Scores[p.Name], 1e-4, p.Name);
        foreach (var p in consts.EnumerateObject()) Near(p.Value.GetDouble(), dla.Constants[p.Name], 1e-4, p.Name);
        Near(expected.GetProperty("metric_clean").GetDouble(), dla.MetricClean, 1e-4, "clean logit difference");
        // The identity: every component plus the constants is the clean metric (float rounding only).
        Near(runs.CleanMetric, dla.Total, 1e-5 * (1 + Math.Abs(runs.CleanMetric)), "Σ scores + constants");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void NeuronDlaMatchesPyTorchAndSumsToEachMlp(string name)
    {
        var (model, runs, expected) = Setup(name);
        using var _ = runs;
        var neurons = DirectLogitAttribution.Run(runs, model.Weights, NodeGranularity.Neuron);
        var components = DirectLogitAttribution.Run(runs, model.Weights);
        var exp = expected.GetProperty("dla").GetProperty("neurons");
        int compared = 0;
        foreach (var p in exp.EnumerateObject())
        {
            double actual = p.Name.EndsWith(".b_out", StringComparison.Ordinal)
                ? neurons.Constants.GetValueOrDefault(p.Name) : neurons.Scores[p.Name];
            Near(p.Value.GetDouble(), actual, 1e-5, p.Name);
            compared++;
        }
        Assert.Equal(model.Config.NLayers * (model.Config.DMlp + 1), compared);
        for (int l = 0; l < model.Config.NLayers; l++)
        {
            double sum = neurons.Scores.Where(s => s.Key.StartsWith($"m{l}.n", StringComparison.Ordinal)).Sum(s => s.Value)
                         + neurons.Constants.GetValueOrDefault($"m{l}.b_out");
            Near(components.Scores[$"m{l}"], sum, 1e-5, $"Σ neurons of m{l}");
        }
        Near(runs.CleanMetric, neurons.Total, 1e-5 * (1 + Math.Abs(runs.CleanMetric)), "Σ neuron scores + constants");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void HeadScoresMatchPyTorch(string name)
    {
        var model = Load(name);
        var engine = new Transformer(model.Config, model.Weights);
        var e = JsonDocument.Parse(File.ReadAllText(Fixture(name, "expected.json"))).RootElement.GetProperty("head_scores");
        int[][] Rows(string p) => e.GetProperty(p).EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();
        var repeats = new RepeatedTokens(Rows("repeated_tokens"), e.GetProperty("prefix_length").GetInt32(), e.GetProperty("period").GetInt32());
        var positions = e.GetProperty("attention_positions").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var tables = new Dictionary<string, HeadScoreTable>
        {
            ["previous_token"] = HeadScores.PreviousToken(engine, repeats.Sequences),
            ["induction"] = HeadScores.Induction(engine, repeats),
            ["duplicate_token"] = HeadScores.DuplicateToken(engine, repeats),
            ["attention_to_position"] = HeadScores.AttentionToPosition(engine, Rows("attention_prompts"), positions),
        };
        foreach (var (kind, table) in tables)
        {
            var rows = e.GetProperty(kind).EnumerateArray().ToArray();
            Assert.Equal(model.Config.NLayers, rows.Length);
            for (int l = 0; l < rows.Length; l++)
            {
                var heads = rows[l].EnumerateArray().Select(x => x.GetDouble()).ToArray();
                Assert.Equal(model.Config.NHeads, heads.Length);
                for (int h = 0; h < heads.Length; h++) Near(heads[h], table[$"a{l}.h{h}"], 1e-5, $"{kind} a{l}.h{h}");
            }
        }
    }
}
