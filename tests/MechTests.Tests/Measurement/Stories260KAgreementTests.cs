using MechTests.Attribution;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Tests.Measurement;

/// <summary>AtP and AtP* against exhaustive activation patching on the real stories260K name-copy task.</summary>
public class Stories260KAgreementTests
{
    private readonly ITestOutputHelper _output;

    public Stories260KAgreementTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void AtPStarAgreesWithExhaustivePatchingOnNameCopy()
    {
        var m = Engine.Stories260KTests.Load();
        var engine = new Transformer(m.Config, m.Weights);
        var task = MechTask.Load(TestPaths.Models("../tasks/name-copy.json"), m.Tokenizer, m.Config.VocabSize);
        var runs = TaskRuns.Create(engine, task);
        _output.WriteLine($"name-copy: logit diff clean {runs.CleanMetric:F3}, corrupted {runs.CorruptedMetric:F3}");
        foreach (var granularity in new[] { NodeGranularity.Component, NodeGranularity.QueryKeyValue })
        {
            var nodes = NodeSets.Build(m.Config, granularity);
            var truth = NodePatching.Run(runs, nodes);
            var atp = AgreementReport.Compute(NodeAttribution.AtP(runs, nodes).Scores, truth.Effects, topK: 5);
            var star = AgreementReport.Compute(NodeAttribution.AtPStar(runs, nodes).Scores, truth.Effects, topK: 5);
            _output.WriteLine($"{granularity} ({nodes.Count} nodes): AtP  Spearman {atp.Spearman:F3}, top-5 recall {atp.TopKRecall:F2}, relative cost {atp.RelativeCost:F2}");
            _output.WriteLine($"{granularity} ({nodes.Count} nodes): AtP* Spearman {star.Spearman:F3}, top-5 recall {star.TopKRecall:F2}, relative cost {star.RelativeCost:F2}");
            Assert.True(star.Spearman >= 0.8, $"{granularity}: AtP* Spearman {star.Spearman:F3}");
            Assert.True(star.TopKRecall >= 0.6, $"{granularity}: AtP* top-5 recall {star.TopKRecall:F2}");
            Assert.True(star.RelativeCost <= 2.5, $"{granularity}: AtP* relative cost {star.RelativeCost:F2}");
        }
        // The embedding carries the corruption: patching it is the whole corrupted run.
        var input = NodePatching.Run(runs, NodeSets.Build(m.Config, NodeGranularity.Component).Take(1).ToList());
        Assert.Equal(runs.CorruptedMetric - runs.CleanMetric, input.Effects["input"], 1e-3);
    }
}
