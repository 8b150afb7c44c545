using System.Text.Json.Nodes;
using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

public class CircuitDiffTests
{
    private static readonly ModelIdentity Model = ModelIdentity.From(MechTests.Models.ModelPresets.Tiny(MechTests.Models.Architecture.Gpt2), new string('0', 64));
    private static readonly TaskReference Task = new() { Name = "t", Metric = "logit_diff", Path = "t.json", Sha256 = new string('1', 64) };

    private static CircuitFile Make(Dictionary<string, double> edges, double f = 0.9, JsonObject? details = null, string sha = "0")
    {
        var g = CircuitFixtures.TinyGraph();
        var c = Circuit.FromEdges(g, edges.Keys, edges);
        var conv = new Dictionary<string, string> { ["ablation"] = "corrupted-patch" };
        return new CircuitFile
        {
            Model = Model with { WeightsSha256 = new string(sha[0], 64) },
            Task = Task,
            Method = "manual",
            Circuit = c,
        }.AddMetrics(
            new KeyValuePair<string, MetricEntry>("faithfulness", new MetricEntry(f, MetricUnits.Normalized, conv)),
            new KeyValuePair<string, MetricEntry>("cpr", new MetricEntry(0.5, MetricUnits.Normalized, conv, details ?? new JsonObject { ["points"] = new JsonArray(0.1, 0.5, 1.0) })));
    }

    private static Dictionary<string, double> Base() => new()
    {
        ["input->a0.h1<q>"] = 0.2,
        ["a0.h1->logits"] = -0.9,
        ["input->m0"] = 0.05,
        ["m0->logits"] = 0.4,
    };

    [Fact]
    public void IdenticalFilesAndNoiseWithinToleranceAreEquivalent()
    {
        var a = Make(Base());
        var noisy = Base().ToDictionary(kv => kv.Key, kv => kv.Value + 5e-6);
        var diff = CircuitDiff.Compare(a, Make(noisy, f: 0.9 + 5e-4));
        Assert.True(diff.AreEquivalent, diff.Render());
        Assert.StartsWith("No differences beyond tolerance", diff.Render());
        Assert.True(CircuitDiff.Compare(a, CircuitFile.Parse(a.ToJson())).AreEquivalent);
    }

    [Fact]
    public void MembershipChangesAreListedWithScoresLargestFirst()
    {
        var b = Base();
        b.Remove("a0.h1->logits");
        b.Remove("input->a0.h1<q>");
        b["a1.h2->logits"] = 0.01;
        b["input->a1.h2<v>"] = -3;
        b["m0->logits"] = 0.45;   // beyond 1e-5 + 1e-4·0.45
        b["input->m0"] = 0.05 + 1e-6;  // within
        var diff = CircuitDiff.Compare(Make(Base()), Make(b));
        Assert.Equal(["input->a1.h2<v>", "a1.h2->logits"], diff.AddedEdges.Select(e => e.Name));
        Assert.Equal(["a0.h1->logits", "input->a0.h1<q>"], diff.RemovedEdges.Select(e => e.Name));
        Assert.Equal(-0.9, diff.RemovedEdges[0].Before);
        var change = Assert.Single(diff.ScoreChanges);
        Assert.Equal(("m0->logits", 0.4, 0.45), (change.Name, change.Before!.Value, change.After!.Value));
        Assert.Equal(0.05, change.Delta!.Value, 12);
        Assert.Equal(["a1.h2"], diff.AddedNodes);
        Assert.Equal(["a0.h1"], diff.RemovedNodes);
        string text = diff.Render();
        Assert.Contains("Edges added, largest |score| first (2):\n  + input->a1.h2<v>  score -3\n  + a1.h2->logits  score 0.01\n", text);
        Assert.Contains("Edges removed, largest |score| first (2):\n  - a0.h1->logits  score -0.9\n  - input->a0.h1<q>  score 0.2\n", text);
        Assert.Contains("  ~ m0->logits  0.4 -> 0.45  (Δ +0.05)\n", text);
        Assert.Equal(7, diff.Count);
    }

    [Fact]
    public void HeaderAndMetricDetailChangesAreReported()
    {
        var a = Make(Base());
        var b = Make(Base(), f: 0.8, details: new JsonObject { ["points"] = new JsonArray(0.1, 0.7, 1.0), ["ranking"] = "signed" }, sha: "f");
        var diff = CircuitDiff.Compare(a, b);
        Assert.Equal(["model.weightsSha256"], diff.Header.Select(h => h.Field));
        // The measured values first, then their details: structural changes (no Δ) first, then numbers by |Δ|.
        Assert.Equal(["metrics.faithfulness.value", "metrics.cpr.details.ranking", "metrics.cpr.details.points[1]"], diff.MetricChanges.Select(m => m.Field));
        Assert.Null(diff.MetricChanges[1].Before);
        Assert.Equal(0.2, diff.MetricChanges[2].Delta!.Value, 12);
        // A looser tolerance passed explicitly overrides the file's own.
        var loose = CircuitDiff.Compare(a, Make(Base(), f: 0.8), new CircuitTolerances(Faithfulness: 0.2));
        Assert.True(loose.AreEquivalent, loose.Render());
    }

    [Fact]
    public void LongSectionsAreCutWithACount()
    {
        var g = CircuitFixtures.TinyGraph();
        var all = g.Edges.ToDictionary(e => e.Name, e => (double)e.Index);
        var diff = CircuitDiff.Compare(Make(Base()), Make(all));
        string text = diff.Render(maxPerSection: 3);
        Assert.Contains($"  … and {diff.AddedEdges.Count - 3} more\n", text);
        Assert.StartsWith("  + m1->logits  score 109\n", text.Split("Edges added, largest |score| first")[1].Split(":\n", 2)[1]);
    }
}
