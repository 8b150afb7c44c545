using MechTests.Attribution;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using MechTests.TorchSharp.Backend;
using Xunit.Abstractions;
using static MechTests.TorchSharp.Tests.Equivalence;

namespace MechTests.TorchSharp.Tests;

/// <summary>
/// Every measurement gives the same scores on either backend (stories260K, the name-copy task's first 4 pairs): node
/// and edge patching, AtP, AtP* (node and edge), EAP and EAP-IG. Tolerance: |Δ| ≤ 1e-3 × the largest |score| of the
/// managed run (float32 rounding accumulated over a patched pass and a metric difference).
/// </summary>
public class MeasurementEquivalenceTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-3;

    private static (TaskRuns Managed, TaskRuns Torch, TorchSharpBackend Backend) Runs()
    {
        var m = Load("stories260K");
        var task = MechTask.Load(Path.Combine(RepoRoot(), "tasks", "name-copy.json"), m.Tokenizer, m.Config.VocabSize);
        var small = new MechTask(task.Name, task.Metric, task.Pairs.Take(4).ToArray());
        var backend = TorchSharpBackend.Load(m, Options);
        return (TaskRuns.Create(new Transformer(m.Config, m.Weights), small), TaskRuns.Create(backend, small), backend);
    }

    private void Same(string what, IReadOnlyDictionary<string, double> expected, IReadOnlyDictionary<string, double> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        double scale = expected.Values.Max(Math.Abs), worst = 0;
        Assert.True(scale > 0, $"{what}: all scores are zero, so the comparison would prove nothing");
        foreach (var (name, v) in expected)
        {
            double d = Math.Abs(v - actual[name]);
            worst = Math.Max(worst, d);
            Assert.True(d <= Tolerance * scale, $"{what} {name}: torchsharp {actual[name]} vs managed {v} (scale {scale})");
        }
        output.WriteLine($"{what}: {expected.Count} scores, scale {scale:G4}, worst |Δ| / scale {worst / scale:E2}");
    }

    [Fact]
    public void NodeMeasurementsAgree()
    {
        var (managed, torch, backend) = Runs();
        using var _ = backend;
        var nodes = NodeSets.Build(managed.Model.Config, NodeGranularity.Component);
        Same("node patching", NodePatching.Run(managed, nodes).Effects, NodePatching.Run(torch, nodes).Effects);
        Same("AtP", NodeAttribution.AtP(managed, nodes).Scores, NodeAttribution.AtP(torch, nodes).Scores);
        var qkv = NodeSets.Build(managed.Model.Config, NodeGranularity.QueryKeyValue);
        Same("AtP* (qkv)", NodeAttribution.AtPStar(managed, qkv).Scores, NodeAttribution.AtPStar(torch, qkv).Scores);
    }

    [Fact]
    public void EdgeMeasurementsAgree()
    {
        var (managed, torch, backend) = Runs();
        using var _ = backend;
        Same("EAP", EdgeAttribution.Eap(managed).Scores, EdgeAttribution.Eap(torch).Scores);
        Same("EAP-IG", EdgeAttribution.EapIg(managed, steps: 3).Scores, EdgeAttribution.EapIg(torch, steps: 3).Scores);
        Same("AtP* (edges)", EdgeAttribution.AtPStar(managed).Scores, EdgeAttribution.AtPStar(torch).Scores);
        var edges = managed.Graph.Edges.Where((_, i) => i % 29 == 0).ToList();
        Same("edge patching", EdgePatching.RunEach(managed, edges).Effects, EdgePatching.RunEach(torch, edges).Effects);
    }
}
