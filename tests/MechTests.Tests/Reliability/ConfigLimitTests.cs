using System.Text.Json.Nodes;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Tests.Loading;
using Xunit;

namespace MechTests.Tests.Reliability;

/// <summary>
/// Issue 19, defect 6: config sizes were not bounded — n_layer = 2^31−1 ran out of memory, max_position_embeddings =
/// 2^31−1 overflowed the rotary tables, 10^8 took 22 s and 3.2 GB for a 3-token prompt, n_embd = 10^9 named a field
/// d_mlp that is not in the file. Every size is now bounded before allocation, naming the file's own field.
/// </summary>
public class ConfigLimitTests
{
    private static string FixtureWith(TempDir dir, string family, Action<JsonObject> edit)
    {
        foreach (var f in Directory.GetFiles(TestPaths.Fixture($"reference/{family}"))) File.Copy(f, dir.File(Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!.AsObject();
        edit(config);
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        return dir.Path;
    }

    [Theory]
    [InlineData("gpt2", "n_layer", 2147483647L, "is 2147483647, more than MechTests supports (at most 1024")]
    [InlineData("gpt2", "n_embd", 1000000000L, "is 1000000000, more than MechTests supports (at most 131072")]
    [InlineData("gpt2", "n_head", 1048576L, "is 1048576, more than MechTests supports (at most 1024")]
    [InlineData("gpt2", "vocab_size", 2000000000L, "is 2000000000, more than MechTests supports (at most 8388608")]
    [InlineData("llama", "max_position_embeddings", 2147483647L, "is 2147483647, more than MechTests supports (at most 1073741824")]
    [InlineData("llama", "intermediate_size", 2147483647L, "is 2147483647, more than MechTests supports (at most 1048576")]
    public void ASizeBeyondTheLimitsNamesTheFileAndItsOwnField(string family, string field, long value, string expected)
    {
        using var dir = new TempDir();
        string folder = FixtureWith(dir, family, c => c[field] = value);
        var e = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(folder));
        Assert.Equal($"{dir.File("config.json")}: field '{field}' {expected}; docs/reliability.md).", e.Message);
    }

    [Fact]
    public void AProductNoArrayCanHoldIsRefusedBeforeAllocation()
    {
        // 4,000,000 × 131,072 token-embedding elements: each size is in range, the product is not.
        using var dir = new TempDir();
        string folder = FixtureWith(dir, "gpt2", c => { c["vocab_size"] = 4_000_000; c["n_embd"] = 131_072; c["n_head"] = 1024; });
        var e = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(folder));
        Assert.Contains("field 'vocab_size' × d_model = 524288000000 elements, more than one weight array can hold", e.Message);
    }

    [Fact]
    public void AHugeStatedContextCostsOnlyThePositionsUsedAndComputesTheSameLogits()
    {
        using var dir = new TempDir();
        string folder = FixtureWith(dir, "llama", c => c["max_position_embeddings"] = 100_000_000);
        var reference = ModelLoader.Load(TestPaths.Fixture("reference/llama"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var huge = ModelLoader.Load(folder);
        var engine = new Transformer(huge.Config, huge.Weights);
        int[][] tokens = [[1, 17, 403]];
        using var pass = engine.Run(tokens, RunOptions.Default);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(100_000_000, huge.Config.MaxPositions);
        // Tables for the whole context were 3.2 GB (10^8 positions × 4 pairs × 2 tables × 4 bytes); the model is 0.3 MB.
        Assert.True(allocated < 16_000_000, $"allocated {allocated:N0} bytes");
        using var expected = new Transformer(reference.Config, reference.Weights).Run(tokens, RunOptions.Default);
        Assert.Equal(expected.Logits.Data, pass.Logits.Data);
    }
}
