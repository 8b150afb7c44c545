namespace MechTests.Models;

/// <summary>
/// Seeded random weights for a config: for benchmarks, tests and ground-truth constructions. Deterministic for a seed.
/// </summary>
/// <example><code>
/// var cfg = ModelPresets.Gpt2Small;
/// var engine = new Transformer(cfg, RandomWeights.Create(cfg, seed: 1));
/// </code></example>
public static class RandomWeights
{
    /// <summary>Creates weights with projections ~ N(0, scale²/fan_in) and norm weights near 1.</summary>
    public static ModelWeights Create(ModelConfig c, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        float[] Normal(int count, float std) => NormalSampler.Sample(rng, count, std);
        float[] Ones(int count)
        {
            var a = Normal(count, 0.05f);
            for (int i = 0; i < count; i++) a[i] += 1f;
            return a;
        }
        bool ln = c.Norm == NormKind.LayerNorm;
        int d = c.DModel, hd = c.NHeads * c.DHead, kvd = c.NKvHeads * c.DHead;
        float sIn = scale / MathF.Sqrt(d);
        var layers = new LayerWeights[c.NLayers];
        for (int l = 0; l < c.NLayers; l++)
        {
            layers[l] = new LayerWeights
            {
                Ln1Weight = Ones(d),
                Ln1Bias = ln ? Normal(d, 0.05f) : null,
                Ln2Weight = Ones(d),
                Ln2Bias = ln ? Normal(d, 0.05f) : null,
                Wq = Normal(d * hd, sIn),
                Bq = c.QkvBias ? Normal(hd, 0.05f) : null,
                Wk = Normal(d * kvd, sIn),
                Bk = c.QkvBias ? Normal(kvd, 0.05f) : null,
                Wv = Normal(d * kvd, sIn),
                Bv = c.QkvBias ? Normal(kvd, 0.05f) : null,
                Wo = Normal(hd * d, scale / MathF.Sqrt(hd)),
                Bo = c.AttnOutBias ? Normal(d, 0.05f) : null,
                WIn = Normal(d * c.DMlp, sIn),
                BIn = c.MlpBias ? Normal(c.DMlp, 0.05f) : null,
                WGate = c.GatedMlp ? Normal(d * c.DMlp, sIn) : null,
                WOut = Normal(c.DMlp * d, scale / MathF.Sqrt(c.DMlp)),
                BOut = c.MlpBias ? Normal(d, 0.05f) : null,
            };
        }
        var embed = Normal(c.VocabSize * d, 1f);
        return new ModelWeights
        {
            TokenEmbed = embed,
            PosEmbed = c.LearnedPositions ? Normal(c.MaxPositions * d, 0.3f) : null,
            Layers = layers,
            LnFinalWeight = Ones(d),
            LnFinalBias = ln ? Normal(d, 0.05f) : null,
            Unembed = c.TiedEmbeddings ? embed : Normal(c.VocabSize * d, sIn * 4),
        };
    }
}

/// <summary>Configs of well-known shapes.</summary>
public static class ModelPresets
{
    /// <summary>GPT-2 small: 12 layers, d 768, 12 heads, MLP 3072, vocabulary 50257, tied unembedding.</summary>
    public static ModelConfig Gpt2Small { get; } = new()
    {
        Architecture = Architecture.Gpt2, DModel = 768, NLayers = 12, NHeads = 12, NKvHeads = 12, DHead = 64, DMlp = 3072,
        VocabSize = 50257, MaxPositions = 1024, Norm = NormKind.LayerNorm, NormEps = 1e-5f, Activation = ActivationKind.GeluTanh,
        LearnedPositions = true, TiedEmbeddings = true, QkvBias = true, AttnOutBias = true, MlpBias = true,
    };

    /// <summary>Pythia-70m's shape: 6 layers, d 512, 8 heads, parallel attention+MLP, rotary on 25% of each head.</summary>
    public static ModelConfig Pythia70m { get; } = new()
    {
        Architecture = Architecture.GptNeoX, DModel = 512, NLayers = 6, NHeads = 8, NKvHeads = 8, DHead = 64, DMlp = 2048,
        VocabSize = 50304, MaxPositions = 2048, Norm = NormKind.LayerNorm, NormEps = 1e-5f, Activation = ActivationKind.GeluErf,
        ParallelAttnMlp = true, Rotary = RotaryStyle.RotateHalf, RotaryDims = 16, QkvBias = true, AttnOutBias = true, MlpBias = true,
    };

    /// <summary>A tiny config of the given family for tests (d 16, 2 layers, 4 heads; Llama with 2 kv heads).</summary>
    public static ModelConfig Tiny(Architecture arch) => arch switch
    {
        Architecture.Gpt2 => Gpt2Small with { DModel = 16, NLayers = 2, NHeads = 4, NKvHeads = 4, DHead = 4, DMlp = 32, VocabSize = 50, MaxPositions = 32 },
        Architecture.GptNeoX => Pythia70m with { DModel = 16, NLayers = 2, NHeads = 4, NKvHeads = 4, DHead = 8, DMlp = 32, VocabSize = 50, MaxPositions = 32, RotaryDims = 4 },
        _ => new ModelConfig
        {
            Architecture = Architecture.Llama, DModel = 16, NLayers = 2, NHeads = 4, NKvHeads = 2, DHead = 4, DMlp = 24, VocabSize = 50,
            MaxPositions = 32, Norm = NormKind.RmsNorm, Activation = ActivationKind.Silu, GatedMlp = true,
            Rotary = RotaryStyle.RotateHalf, RotaryDims = 4,
        },
    };
}
