namespace MechTests.Models.Loading;

/// <summary>Checks a freshly loaded <see cref="ModelWeights"/> against its <see cref="ModelConfig"/>.</summary>
public static class WeightChecks
{
    /// <summary>
    /// Throws <see cref="InvalidDataException"/> naming <paramref name="source"/> and the weight when an array has the
    /// wrong length, or an optional array (biases, gate, positions, LayerNorm bias) is present or absent against
    /// what the config says, or the tied unembedding is not the token embedding array itself.
    /// </summary>
    public static void Check(ModelConfig config, ModelWeights weights, string source)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        long d = config.DModel, q = (long)config.NHeads * config.DHead, kv = (long)config.NKvHeads * config.DHead;
        long mlp = config.DMlp, vocab = config.VocabSize;

        void Len(float[]? array, string name, long expected, bool required = true)
        {
            if (array == null)
            {
                if (required) throw new InvalidDataException($"{source}: weight '{name}' is missing.");
                return;
            }
            if (array.LongLength != expected)
                throw new InvalidDataException($"{source}: weight '{name}' has {array.LongLength} elements, expected {expected}.");
        }
        void Presence(float[]? array, string name, bool wanted, string why)
        {
            if (wanted && array == null) throw new InvalidDataException($"{source}: weight '{name}' is missing ({why}).");
            if (!wanted && array != null) throw new InvalidDataException($"{source}: weight '{name}' is present but {why}.");
        }

        bool layerNorm = config.Norm == NormKind.LayerNorm;
        Len(weights.TokenEmbed, "embed.W_E", vocab * d);
        Presence(weights.PosEmbed, "pos_embed.W_pos", config.LearnedPositions, $"learned_positions={config.LearnedPositions}");
        Len(weights.PosEmbed, "pos_embed.W_pos", (long)config.MaxPositions * d, required: false);

        if (weights.Layers.Length != config.NLayers)
            throw new InvalidDataException($"{source}: {weights.Layers.Length} layers of weights, expected n_layers={config.NLayers}.");
        for (int l = 0; l < weights.Layers.Length; l++)
        {
            var w = weights.Layers[l];
            string p = $"blocks.{l}.";
            Len(w.Ln1Weight, p + "ln1.w", d);
            Len(w.Ln2Weight, p + "ln2.w", d);
            if (!layerNorm)
            {
                Presence(w.Ln1Bias, p + "ln1.b", false, "RMSNorm has no bias");
                Presence(w.Ln2Bias, p + "ln2.b", false, "RMSNorm has no bias");
            }
            Len(w.Ln1Bias, p + "ln1.b", d, required: false);
            Len(w.Ln2Bias, p + "ln2.b", d, required: false);

            Len(w.Wq, p + "attn.W_Q", d * q);
            Len(w.Wk, p + "attn.W_K", d * kv);
            Len(w.Wv, p + "attn.W_V", d * kv);
            Len(w.Wo, p + "attn.W_O", q * d);
            string qkvWhy = $"qkv_bias={config.QkvBias}";
            Presence(w.Bq, p + "attn.b_Q", config.QkvBias, qkvWhy);
            Presence(w.Bk, p + "attn.b_K", config.QkvBias, qkvWhy);
            Presence(w.Bv, p + "attn.b_V", config.QkvBias, qkvWhy);
            Presence(w.Bo, p + "attn.b_O", config.AttnOutBias, $"attn_out_bias={config.AttnOutBias}");
            Len(w.Bq, p + "attn.b_Q", q, required: false);
            Len(w.Bk, p + "attn.b_K", kv, required: false);
            Len(w.Bv, p + "attn.b_V", kv, required: false);
            Len(w.Bo, p + "attn.b_O", d, required: false);

            Len(w.WIn, p + "mlp.W_in", d * mlp);
            Len(w.WOut, p + "mlp.W_out", mlp * d);
            Presence(w.WGate, p + "mlp.W_gate", config.GatedMlp, $"gated_mlp={config.GatedMlp}");
            Len(w.WGate, p + "mlp.W_gate", d * mlp, required: false);
            string mlpWhy = $"mlp_bias={config.MlpBias}";
            Presence(w.BIn, p + "mlp.b_in", config.MlpBias, mlpWhy);
            Presence(w.BOut, p + "mlp.b_out", config.MlpBias, mlpWhy);
            Len(w.BIn, p + "mlp.b_in", mlp, required: false);
            Len(w.BOut, p + "mlp.b_out", d, required: false);
        }

        Len(weights.LnFinalWeight, "ln_final.w", d);
        if (!layerNorm) Presence(weights.LnFinalBias, "ln_final.b", false, "RMSNorm has no bias");
        Len(weights.LnFinalBias, "ln_final.b", d, required: false);
        Len(weights.Unembed, "unembed.W_U", vocab * d);
        Len(weights.UnembedBias, "unembed.b_U", vocab, required: false);
        if (config.TiedEmbeddings != ReferenceEquals(weights.Unembed, weights.TokenEmbed))
            throw new InvalidDataException(config.TiedEmbeddings
                ? $"{source}: tied_embeddings is set but the unembedding is a separate array from the token embedding."
                : $"{source}: the unembedding is the token embedding array but tied_embeddings is not set.");
        // Finiteness is checked by the loaders as each tensor is read, where the file's own tensor name is known;
        // CheckFinite is for weights made in memory.
    }

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> naming <paramref name="source"/>, the weight and the first element
    /// that is NaN or ±Infinity. A model with such a weight computes garbage everywhere downstream, so it is refused at
    /// load rather than discovered in a metric. One vectorised pass (memory-bound; docs/reliability.md has the figure).
    /// </summary>
    public static void CheckFinite(ModelWeights weights, string source)
    {
        ArgumentNullException.ThrowIfNull(weights);
        foreach (var (name, value) in weights.Named())
        {
            if (NonFinite(value) is { } problem)
                throw new InvalidDataException($"{source}: weight '{name}' has {problem}; every weight must be a finite number.");
        }
    }

    /// <summary>"a non-finite value (NaN) at element i" for the first NaN or ±Infinity, or null when all are finite.</summary>
    internal static string? NonFinite(ReadOnlySpan<float> values)
    {
        int bad = FirstNonFinite(values);
        return bad < 0 ? null : $"a non-finite value ({(float.IsNaN(values[bad]) ? "NaN" : values[bad] > 0 ? "+Infinity" : "-Infinity")}) at element {bad}";
    }

    /// <summary>The index of the first NaN or ±Infinity, or −1.</summary>
    internal static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        // x·0 is 0 for finite x and NaN for NaN and ±Inf, so a running sum of x·0 stays 0 exactly when all are finite.
        var acc = System.Numerics.Vector<float>.Zero;
        int width = System.Numerics.Vector<float>.Count, i = 0;
        for (; i <= values.Length - width; i += width)
            acc += new System.Numerics.Vector<float>(values[i..]) * System.Numerics.Vector<float>.Zero;
        bool allFinite = System.Numerics.Vector.EqualsAll(acc, System.Numerics.Vector<float>.Zero);
        for (int j = i; j < values.Length; j++)
            if (!float.IsFinite(values[j])) return allFinite ? j : FirstScalar(values);
        return allFinite ? -1 : FirstScalar(values);
    }

    private static int FirstScalar(ReadOnlySpan<float> values)
    {
        for (int j = 0; j < values.Length; j++)
            if (!float.IsFinite(values[j])) return j;
        return -1;
    }
}
