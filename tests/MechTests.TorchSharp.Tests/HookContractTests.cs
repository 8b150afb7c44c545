using MechTests.Hooks;
using MechTests.Models;
using MechTests.TorchSharp.Backend;
using MechTests.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace MechTests.TorchSharp.Tests;

/// <summary>Item 8: a user model that misses hook points gets one error naming them and what to add.</summary>
public class HookContractTests
{
    /// <summary>A model written the way a user might start: embeddings and unembedding, two hook points only.</summary>
    private sealed class Bigram : HookedTransformer
    {
        private readonly global::TorchSharp.Modules.Embedding embed;
        private readonly global::TorchSharp.Modules.Linear unembed;
        private readonly HookPoint hookEmbed = new(HookNames.Embed);
        private readonly HookPoint hookLogits = new(HookNames.Logits);

        public Bigram(ModelConfig c) : base("bigram", c)
        {
            embed = nn.Embedding(c.VocabSize, c.DModel);
            unembed = nn.Linear(c.DModel, c.VocabSize);
            RegisterComponents();
        }

        public override Tensor forward(Tensor tokens) => hookLogits.forward(unembed.forward(hookEmbed.forward(embed.forward(tokens))));
    }

    private static readonly ModelConfig s_config = new()
    {
        Architecture = Architecture.Gpt2, DModel = 8, NLayers = 1, NHeads = 2, NKvHeads = 2, DHead = 4, DMlp = 16, VocabSize = 10, MaxPositions = 8,
    };

    [Fact]
    public void AModelMissingHookPointsIsRefusedWithTheNamesToAdd()
    {
        using var model = new Bigram(s_config);
        var e = Assert.Throws<HookContractException>(() => new TorchSharpBackend(model));
        Assert.Contains("Bigram is missing", e.Message);
        Assert.Contains("blocks.0.hook_resid_pre", e.Message);
        Assert.Contains("blocks.0.attn.hook_result", e.Message);
        Assert.Contains("new HookPoint(\"blocks.0.hook_resid_pre\")", e.Message);
        Assert.Contains("docs/hook-points.md", e.Message);
    }

    [Fact]
    public void TheBuiltInModulesMeetTheEdgeContract()
    {
        using var backend = TorchSharpBackend.Load(Equivalence.Load("llama"), Equivalence.Options);
        HookContract.Check(backend, HookContract.Level.Edge);
        Assert.Contains(HookNames.QInput(0), backend.AllHookNames());
    }
}
