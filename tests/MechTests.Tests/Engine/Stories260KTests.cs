using MechTests.Hooks;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Tests.Engine;

/// <summary>The real pretrained stories260K (llama2.c) behaves like a TinyStories model.</summary>
public class Stories260KTests
{
    private readonly ITestOutputHelper _output;

    public Stories260KTests(ITestOutputHelper output) => _output = output;

    internal static LoadedModel Load() => ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin"));

    [Fact]
    public void GreedyDecodingFromBosTellsACoherentStoryAboutLily()
    {
        var m = Load();
        var tok = m.Tokenizer!;
        var ids = Generator.Generate(new Transformer(m.Config, m.Weights), new[] { tok.BosId!.Value }, maxTokens: 60, temperature: 0, stopAt: tok.EosId);
        string text = tok.Decode(ids);
        _output.WriteLine(text);
        Assert.StartsWith("Once upon a time", text);
        Assert.Contains(" Lily", text);
        // Mostly real words: every word is made of letters and ordinary punctuation.
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length > 30);
        Assert.All(words, w => Assert.Matches(@"^[A-Za-z]+[.,!?']?[A-Za-z]*[.,!?]?$", w));
    }

    [Fact]
    public void NextTokenCopiesTheNameIntroducedEarlier()
    {
        var m = Load();
        var task = MechTask.Load(TestPaths.Models("../tasks/name-copy.json"), m.Tokenizer, m.Config.VocabSize);
        var engine = new Transformer(m.Config, m.Weights);
        foreach (var pair in task.Pairs)
        {
            var clean = engine.Run(new[] { pair.Clean }, RunOptions.Default).Logits;
            var corrupted = engine.Run(new[] { pair.Corrupted }, RunOptions.Default).Logits;
            double dClean = TaskMetric.Values(MetricKind.LogitDiff, clean, new[] { pair })[0];
            double dCorrupted = TaskMetric.Values(MetricKind.LogitDiff, corrupted, new[] { pair })[0];
            _output.WriteLine($"pair {pair.Index}: logit diff clean {dClean:F2}, corrupted {dCorrupted:F2}");
            Assert.True(dClean > 2, $"pair {pair.Index}: the introduced name should lead by > 2 logits, got {dClean:F2}");
            Assert.True(dClean - dCorrupted > 4, $"pair {pair.Index}: swapping the introduced name should move the logit difference by > 4, got {dClean - dCorrupted:F2}");
        }
    }

    [Fact]
    public void ThePromptTokenizesAsLlama2cDoes()
    {
        var m = Load();
        var ids = m.Tokenizer!.Encode("Once upon a time, there was a girl named Lily. One day,", addBos: true);
        Assert.Equal(1, ids[0]);
        Assert.Equal(317, m.Tokenizer.EncodeContinuation(" Lily").Single());
        Assert.Contains(317, ids);
        Assert.Equal("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696", m.WeightsSha256);
    }
}
