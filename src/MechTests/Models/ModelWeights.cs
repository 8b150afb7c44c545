namespace MechTests.Models;

/// <summary>
/// The weights of one block, in the engine's canonical layout: projection matrices are <c>[in, out]</c> row-major
/// (y = x·W, as TransformerLens stores them), heads are contiguous column blocks (head h owns columns
/// <c>h·d_head … (h+1)·d_head − 1</c>). Loaders convert from each file format into this layout once.
/// </summary>
public sealed class LayerWeights
{
    /// <summary>Norm before attention: weight [d_model].</summary>
    public required float[] Ln1Weight { get; init; }
    /// <summary>Norm before attention: bias [d_model] (LayerNorm only).</summary>
    public float[]? Ln1Bias { get; init; }
    /// <summary>Norm before the MLP: weight [d_model].</summary>
    public required float[] Ln2Weight { get; init; }
    /// <summary>Norm before the MLP: bias [d_model] (LayerNorm only).</summary>
    public float[]? Ln2Bias { get; init; }

    /// <summary>Query projection [d_model, n_heads·d_head].</summary>
    public required float[] Wq { get; init; }
    /// <summary>Query bias [n_heads·d_head].</summary>
    public float[]? Bq { get; init; }
    /// <summary>Key projection [d_model, n_kv_heads·d_head].</summary>
    public required float[] Wk { get; init; }
    /// <summary>Key bias [n_kv_heads·d_head].</summary>
    public float[]? Bk { get; init; }
    /// <summary>Value projection [d_model, n_kv_heads·d_head].</summary>
    public required float[] Wv { get; init; }
    /// <summary>Value bias [n_kv_heads·d_head].</summary>
    public float[]? Bv { get; init; }
    /// <summary>Output projection [n_heads·d_head, d_model].</summary>
    public required float[] Wo { get; init; }
    /// <summary>Output bias [d_model].</summary>
    public float[]? Bo { get; init; }

    /// <summary>MLP input projection [d_model, d_mlp] (the "up" projection in SwiGLU).</summary>
    public required float[] WIn { get; init; }
    /// <summary>MLP input bias [d_mlp].</summary>
    public float[]? BIn { get; init; }
    /// <summary>SwiGLU gate projection [d_model, d_mlp]: hidden = act(x·W_gate) ⊙ (x·W_in).</summary>
    public float[]? WGate { get; init; }
    /// <summary>MLP output projection [d_mlp, d_model].</summary>
    public required float[] WOut { get; init; }
    /// <summary>MLP output bias [d_model].</summary>
    public float[]? BOut { get; init; }

    /// <summary>Every weight array with a stable name, for gradients, hashing and optimisers.</summary>
    public IEnumerable<(string Name, float[] Value)> Named()
    {
        yield return ("ln1.w", Ln1Weight);
        if (Ln1Bias != null) yield return ("ln1.b", Ln1Bias);
        yield return ("ln2.w", Ln2Weight);
        if (Ln2Bias != null) yield return ("ln2.b", Ln2Bias);
        yield return ("attn.W_Q", Wq);
        if (Bq != null) yield return ("attn.b_Q", Bq);
        yield return ("attn.W_K", Wk);
        if (Bk != null) yield return ("attn.b_K", Bk);
        yield return ("attn.W_V", Wv);
        if (Bv != null) yield return ("attn.b_V", Bv);
        yield return ("attn.W_O", Wo);
        if (Bo != null) yield return ("attn.b_O", Bo);
        yield return ("mlp.W_in", WIn);
        if (BIn != null) yield return ("mlp.b_in", BIn);
        if (WGate != null) yield return ("mlp.W_gate", WGate);
        yield return ("mlp.W_out", WOut);
        if (BOut != null) yield return ("mlp.b_out", BOut);
    }
}

/// <summary>
/// All weights of a model. <see cref="Unembed"/> is <c>[vocab, d_model]</c> (the nn.Linear / embedding layout), so a
/// tied model shares one array between <see cref="TokenEmbed"/> and <see cref="Unembed"/> with no copy.
/// </summary>
public sealed class ModelWeights
{
    /// <summary>Token embedding [vocab, d_model].</summary>
    public required float[] TokenEmbed { get; init; }
    /// <summary>Learned position embedding [max_positions, d_model] (GPT-2 only).</summary>
    public float[]? PosEmbed { get; init; }
    /// <summary>The blocks, in order.</summary>
    public required LayerWeights[] Layers { get; init; }
    /// <summary>Final norm weight [d_model].</summary>
    public required float[] LnFinalWeight { get; init; }
    /// <summary>Final norm bias [d_model] (LayerNorm only).</summary>
    public float[]? LnFinalBias { get; init; }
    /// <summary>Unembedding [vocab, d_model]; the same array as <see cref="TokenEmbed"/> when tied.</summary>
    public required float[] Unembed { get; init; }
    /// <summary>Unembedding bias [vocab], rarely present.</summary>
    public float[]? UnembedBias { get; init; }

    /// <summary>A deep copy (a tied unembedding stays tied), e.g. to fine-tune without touching the original.</summary>
    public ModelWeights DeepClone()
    {
        static float[]? C(float[]? a) => a == null ? null : (float[])a.Clone();
        var embed = (float[])TokenEmbed.Clone();
        return new ModelWeights
        {
            TokenEmbed = embed,
            PosEmbed = C(PosEmbed),
            Layers = Layers.Select(l => new LayerWeights
            {
                Ln1Weight = C(l.Ln1Weight)!, Ln1Bias = C(l.Ln1Bias), Ln2Weight = C(l.Ln2Weight)!, Ln2Bias = C(l.Ln2Bias),
                Wq = C(l.Wq)!, Bq = C(l.Bq), Wk = C(l.Wk)!, Bk = C(l.Bk), Wv = C(l.Wv)!, Bv = C(l.Bv), Wo = C(l.Wo)!, Bo = C(l.Bo),
                WIn = C(l.WIn)!, BIn = C(l.BIn), WGate = C(l.WGate), WOut = C(l.WOut)!, BOut = C(l.BOut),
            }).ToArray(),
            LnFinalWeight = (float[])LnFinalWeight.Clone(),
            LnFinalBias = C(LnFinalBias),
            Unembed = ReferenceEquals(Unembed, TokenEmbed) ? embed : (float[])Unembed.Clone(),
            UnembedBias = C(UnembedBias),
        };
    }

    /// <summary>Every distinct weight array with a stable name (a tied unembedding is listed once).</summary>
    public IEnumerable<(string Name, float[] Value)> Named()
    {
        yield return ("embed.W_E", TokenEmbed);
        if (PosEmbed != null) yield return ("pos_embed.W_pos", PosEmbed);
        for (int l = 0; l < Layers.Length; l++)
            foreach (var (name, value) in Layers[l].Named())
                yield return ($"blocks.{l}.{name}", value);
        yield return ("ln_final.w", LnFinalWeight);
        if (LnFinalBias != null) yield return ("ln_final.b", LnFinalBias);
        if (!ReferenceEquals(Unembed, TokenEmbed)) yield return ("unembed.W_U", Unembed);
        if (UnembedBias != null) yield return ("unembed.b_U", UnembedBias);
    }
}
