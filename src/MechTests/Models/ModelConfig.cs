namespace MechTests.Models;

/// <summary>Which family a model belongs to; only what differs between families is keyed on it.</summary>
public enum Architecture
{
    /// <summary>GPT-2: LayerNorm, learned positions, gelu_new MLP, sequential blocks.</summary>
    Gpt2,
    /// <summary>GPT-NeoX / Pythia: LayerNorm, partial rotary (rotate-half), exact GELU, parallel attention+MLP.</summary>
    GptNeoX,
    /// <summary>Llama (Hugging Face layout or llama2.c): RMSNorm, rotary, SwiGLU, grouped-query attention.</summary>
    Llama,
}

/// <summary>Normalisation applied before each sub-block and before the unembedding.</summary>
public enum NormKind
{
    /// <summary>(x − mean) / sqrt(var + eps) · w + b.</summary>
    LayerNorm,
    /// <summary>x / sqrt(mean(x²) + eps) · w.</summary>
    RmsNorm,
}

/// <summary>The MLP's non-linearity.</summary>
public enum ActivationKind
{
    /// <summary>The tanh approximation used by GPT-2 (<c>gelu_new</c>).</summary>
    GeluTanh,
    /// <summary>The exact erf GELU (<c>gelu</c> in GPT-NeoX configs).</summary>
    GeluErf,
    /// <summary>SiLU, used gated (SwiGLU) in Llama.</summary>
    Silu,
}

/// <summary>How rotary position embeddings pair up a head's dimensions.</summary>
public enum RotaryStyle
{
    /// <summary>No rotary embeddings (GPT-2 uses learned positions).</summary>
    None,
    /// <summary>Hugging Face's rotate-half: dimension i pairs with i + r/2 within the first r rotary dims.</summary>
    RotateHalf,
    /// <summary>llama2.c / Meta: adjacent pairs (0,1), (2,3), …</summary>
    Interleaved,
}

/// <summary>
/// Shape and behaviour of a decoder-only transformer. Loaders fill it from <c>config.json</c> or a llama2.c header;
/// <see cref="Validate"/> rejects inconsistent values with a message naming the field.
/// </summary>
/// <example><code>
/// var cfg = new ModelConfig { Architecture = Architecture.Gpt2, DModel = 768, NLayers = 12, NHeads = 12,
///     NKvHeads = 12, DHead = 64, DMlp = 3072, VocabSize = 50257, MaxPositions = 1024 };
/// </code></example>
public sealed record ModelConfig
{
    /// <summary>Checks a batch of prompts against this shape (non-empty, equal lengths, within the context, ids in the
    /// vocabulary) and returns its size; every backend calls it so their errors read the same.</summary>
    public (int Batch, int Positions) CheckTokens(IReadOnlyList<int[]> tokens)
    {
        if (tokens.Count == 0) throw new ArgumentException("The batch is empty: give at least one token sequence.");
        int t = tokens[0].Length;
        if (t == 0) throw new ArgumentException("Prompt 0 has no tokens.");
        if (t > MaxPositions)
            throw new ArgumentException($"Prompt 0 has {t} tokens; the model accepts at most {MaxPositions}.");
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Length != t)
                throw new ArgumentException($"Prompt {i} has {tokens[i].Length} tokens but prompt 0 has {t}; a batch needs equal lengths.");
            foreach (int id in tokens[i])
                if ((uint)id >= (uint)VocabSize)
                    throw new ArgumentException($"Prompt {i} contains token id {id}, outside the vocabulary 0..{VocabSize - 1}.");
        }
        return (tokens.Count, t);
    }

    /// <summary>Model family.</summary>
    public Architecture Architecture { get; init; }
    /// <summary>Residual stream width.</summary>
    public int DModel { get; init; }
    /// <summary>Number of transformer blocks.</summary>
    public int NLayers { get; init; }
    /// <summary>Number of query heads.</summary>
    public int NHeads { get; init; }
    /// <summary>Number of key/value heads (equal to <see cref="NHeads"/> unless grouped-query attention).</summary>
    public int NKvHeads { get; init; }
    /// <summary>Width of one head.</summary>
    public int DHead { get; init; }
    /// <summary>MLP hidden width.</summary>
    public int DMlp { get; init; }
    /// <summary>Vocabulary size.</summary>
    public int VocabSize { get; init; }
    /// <summary>Longest sequence the model accepts.</summary>
    public int MaxPositions { get; init; }
    /// <summary>Normalisation kind.</summary>
    public NormKind Norm { get; init; } = NormKind.LayerNorm;
    /// <summary>Normalisation epsilon.</summary>
    public float NormEps { get; init; } = 1e-5f;
    /// <summary>MLP activation.</summary>
    public ActivationKind Activation { get; init; } = ActivationKind.GeluTanh;
    /// <summary>Whether the MLP is gated: act(x·W_gate) ⊙ (x·W_in) (SwiGLU).</summary>
    public bool GatedMlp { get; init; }
    /// <summary>GPT-NeoX parallel residual: x + attn(ln1 x) + mlp(ln2 x).</summary>
    public bool ParallelAttnMlp { get; init; }
    /// <summary>Rotary pairing convention.</summary>
    public RotaryStyle Rotary { get; init; } = RotaryStyle.None;
    /// <summary>How many leading dimensions of each head are rotated (even; ≤ <see cref="DHead"/>).</summary>
    public int RotaryDims { get; init; }
    /// <summary>Rotary base θ.</summary>
    public float RotaryBase { get; init; } = 10000f;
    /// <summary>Whether the model adds learned absolute position embeddings.</summary>
    public bool LearnedPositions { get; init; }
    /// <summary>Whether the unembedding is the token embedding matrix (tied weights).</summary>
    public bool TiedEmbeddings { get; init; }
    /// <summary>Whether q/k/v projections have biases.</summary>
    public bool QkvBias { get; init; }
    /// <summary>Whether the attention output projection has a bias.</summary>
    public bool AttnOutBias { get; init; }
    /// <summary>Whether MLP projections have biases.</summary>
    public bool MlpBias { get; init; }
    /// <summary>Token id prepended to prompts, if the model uses one.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>End-of-sequence token id, if any.</summary>
    public int? EosTokenId { get; init; }

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => NHeads / NKvHeads;

    /// <summary>Throws <see cref="InvalidDataException"/> naming <paramref name="source"/> and the offending field.</summary>
    public void Validate(string source)
    {
        void Require(bool ok, string field, string expected)
        {
            if (!ok) throw new InvalidDataException($"{source}: field '{field}' {expected}.");
        }
        void Range(long value, string field, long max)
        {
            if (ModelLimits.RangeProblem(value, max) is { } problem) throw new InvalidDataException($"{source}: field '{field}' {problem}.");
        }
        // Upper bounds first and in 64 bits (docs/reliability.md): a header stating 2^31−1 layers is an error here, not
        // an OutOfMemoryException after an allocation.
        Range(DModel, "d_model", ModelLimits.MaxDModel);
        Range(NLayers, "n_layers", ModelLimits.MaxLayers);
        Range(NHeads, "n_heads", ModelLimits.MaxHeads);
        Range(NKvHeads, "n_kv_heads", ModelLimits.MaxHeads);
        Require(NHeads % NKvHeads == 0, "n_kv_heads", $"must divide n_heads={NHeads} (got {NKvHeads})");
        Range(DHead, "d_head", ModelLimits.MaxDHead);
        Range(DMlp, "d_mlp", ModelLimits.MaxDMlp);
        Range(VocabSize, "vocab_size", ModelLimits.MaxVocab);
        Range(MaxPositions, "max_positions", ModelLimits.MaxPositions);
        long maxArray = ModelLimits.MaxTensorElements;
        Require((long)VocabSize * DModel <= maxArray, "vocab_size", $"× d_model = {(long)VocabSize * DModel} elements, more than one weight array can hold ({maxArray})");
        Require((long)DMlp * DModel <= maxArray, "d_mlp", $"× d_model = {(long)DMlp * DModel} elements, more than one weight array can hold ({maxArray})");
        Require((long)NHeads * DHead * DModel <= maxArray, "d_head", $"× n_heads × d_model = {(long)NHeads * DHead * DModel} elements, more than one weight array can hold ({maxArray})");
        if (LearnedPositions)
            Require((long)MaxPositions * DModel <= maxArray, "max_positions", $"× d_model = {(long)MaxPositions * DModel} elements, more than one weight array can hold ({maxArray})");
        if (ModelLimits.GraphProblem(NLayers, NHeads, ParallelAttnMlp) is { } graph) throw new InvalidDataException($"{source}: {graph}.");
        Require(NormEps > 0 && float.IsFinite(NormEps), "norm_eps", $"must be a positive finite number (got {NormEps})");
        if (Rotary != RotaryStyle.None)
            Require(RotaryDims > 0 && RotaryDims % 2 == 0 && RotaryDims <= DHead, "rotary_dims",
                $"must be even and in 2..d_head={DHead} (got {RotaryDims})");
    }
}
