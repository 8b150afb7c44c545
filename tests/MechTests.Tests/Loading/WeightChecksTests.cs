using MechTests.Models;
using MechTests.Models.Loading;
using Xunit;

namespace MechTests.Tests.Loading;

public class WeightChecksTests
{
    // One layer, d=4, 2 heads of 2, 1 kv head, mlp 6, vocab 3, gated RMSNorm model with tied embeddings.
    private static readonly ModelConfig Config = new()
    {
        Architecture = Architecture.Llama, DModel = 4, NLayers = 1, NHeads = 2, NKvHeads = 1, DHead = 2, DMlp = 6,
        VocabSize = 3, MaxPositions = 8, Norm = NormKind.RmsNorm, GatedMlp = true, Rotary = RotaryStyle.Interleaved,
        RotaryDims = 2, TiedEmbeddings = true,
    };

    private static ModelWeights Weights(int wkLength = 4 * 2, bool tie = true, float[]? ln1Bias = null)
    {
        var embed = new float[12];
        return new ModelWeights
        {
            TokenEmbed = embed,
            Layers =
            [
                new LayerWeights
                {
                    Ln1Weight = new float[4], Ln1Bias = ln1Bias, Ln2Weight = new float[4],
                    Wq = new float[16], Wk = new float[wkLength], Wv = new float[8], Wo = new float[16],
                    WGate = new float[24], WIn = new float[24], WOut = new float[24],
                },
            ],
            LnFinalWeight = new float[4],
            Unembed = tie ? embed : new float[12],
        };
    }

    [Fact]
    public void Consistent_weights_pass() => WeightChecks.Check(Config, Weights(), "src");

    [Fact]
    public void A_wrong_length_names_the_weight_and_both_counts()
    {
        var ex = Assert.Throws<InvalidDataException>(() => WeightChecks.Check(Config, Weights(wkLength: 16), "src"));
        Assert.Equal("src: weight 'blocks.0.attn.W_K' has 16 elements, expected 8.", ex.Message);
    }

    [Fact]
    public void Tying_and_norm_kind_must_agree_with_the_config()
    {
        var ex = Assert.Throws<InvalidDataException>(() => WeightChecks.Check(Config, Weights(tie: false), "src"));
        Assert.Contains("tied_embeddings is set but the unembedding is a separate array", ex.Message);
        ex = Assert.Throws<InvalidDataException>(() => WeightChecks.Check(Config, Weights(ln1Bias: new float[4]), "src"));
        Assert.Contains("weight 'blocks.0.ln1.b' is present but RMSNorm has no bias", ex.Message);
    }
}
