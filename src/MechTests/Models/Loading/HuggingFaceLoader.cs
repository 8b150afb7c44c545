using System.Buffers;
using System.Text.RegularExpressions;

namespace MechTests.Models.Loading;

/// <summary>
/// Loads a Hugging Face model folder (<c>config.json</c> plus <c>model.safetensors</c>, or a sharded
/// <c>model.safetensors.index.json</c> with its shards) for GPT-2, GPT-NeoX/Pythia and Llama/Mistral, converting every
/// weight into the engine's canonical layout (<c>[in, out]</c>, heads as contiguous column blocks). The loader is strict:
/// missing tensors, wrong shapes, unknown config values and unexpected extra tensors are all errors naming the file
/// and the field or tensor.
/// </summary>
/// <remarks>
/// Layout conversions: GPT-2's Conv1D weights are already <c>[in, out]</c> and are used as stored (c_attn is split into
/// q/k/v column blocks); nn.Linear weights (<c>[out, in]</c>, NeoX and Llama) are transposed; NeoX's fused
/// query_key_value is per-head interleaved (<c>[H, 3, d_head]</c> along its output dimension) and is de-interleaved.
/// </remarks>
public static partial class HuggingFaceLoader
{
    /// <summary>The <c>model_type</c> values this loader understands.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["gpt2", "gpt_neox", "llama", "mistral"];

    /// <summary>Loads the model in <paramref name="folder"/>.</summary>
    /// <example><code>
    /// LoadedWeights w = HuggingFaceLoader.Load("models/pythia-70m");
    /// Console.WriteLine($"{w.Config.Architecture}: {w.Config.NLayers} layers");
    /// </code></example>
    public static LoadedWeights Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{folder}: model folder not found.");
        var config = ReadConfig(Path.Combine(folder, "config.json"));

        using var tensors = TensorSet.OpenFolder(folder);
        var weights = config.Architecture switch
        {
            Architecture.Gpt2 => LoadGpt2(tensors, config),
            Architecture.GptNeoX => LoadNeoX(tensors, config),
            Architecture.Llama => LoadLlama(tensors, config),
            _ => throw new InvalidOperationException($"Unhandled architecture {config.Architecture}."),
        };
        tensors.EnsureAllUsed(config.Architecture.ToString());
        WeightChecks.Check(config, weights, folder);
        return new LoadedWeights(config, weights, tensors.Files);
    }

    /// <summary>Reads and validates a <c>config.json</c> into a <see cref="ModelConfig"/>.</summary>
    /// <example><code>ModelConfig cfg = HuggingFaceLoader.ReadConfig("models/gpt2/config.json");</code></example>
    public static ModelConfig ReadConfig(string configPath)
    {
        ArgumentNullException.ThrowIfNull(configPath);
        var json = ConfigJson.Read(configPath);
        string modelType = json.RequireString("model_type");
        var config = modelType switch
        {
            "gpt2" => Gpt2Config(json),
            "gpt_neox" => NeoXConfig(json),
            "llama" or "mistral" => LlamaConfig(json, modelType),
            _ => throw json.Error("model_type", $"is '{modelType}', which is not supported; supported: {string.Join(", ", SupportedModelTypes)}"),
        };
        config.Validate(configPath);
        return config;
    }

    // ---------------------------------------------------------------- config.json

    private static ActivationKind Activation(ConfigJson json, string field, string fallback, params string[] allowed)
    {
        string name = json.OptionalString(field, fallback);
        if (!allowed.Contains(name))
            throw json.Error(field, $"is '{name}', which is not supported; supported: {string.Join(", ", allowed)}");
        return name switch
        {
            "gelu" => ActivationKind.GeluErf,
            // gelu_fast is the same tanh approximation written differently.
            "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => ActivationKind.GeluTanh,
            "silu" or "swish" => ActivationKind.Silu,
            _ => throw json.Error(field, $"is '{name}', which is not supported"),
        };
    }

    private static int HeadDim(ConfigJson json, string hiddenField, int hidden, string headsField, int heads)
    {
        if (hidden % heads != 0)
            throw json.Error(hiddenField, $"({hidden}) must be divisible by '{headsField}' ({heads})");
        return hidden / heads;
    }

    // Only plain RoPE is implemented: rope_scaling (transformers 4.x) and rope_parameters (5.x) must say "default" if
    // present. Returns rope_parameters, where 5.x keeps rope_theta and partial_rotary_factor, or null.
    private static ConfigJson? RopeParameters(ConfigJson json)
    {
        var scaling = json.Nested("rope_scaling");
        if (scaling != null)
        {
            string typeField = scaling.Has("rope_type") || !scaling.Has("type") ? "rope_type" : "type";
            string type = scaling.OptionalString(typeField, "(none)");
            if (type != "default")
                throw scaling.Error(typeField, $"is '{type}'; only default (unscaled) rotary embeddings are supported");
        }
        var parameters = json.Nested("rope_parameters");
        if (parameters != null)
        {
            string type = parameters.OptionalString("rope_type", "default");
            if (type != "default")
                throw parameters.Error("rope_type", $"is '{type}'; only default (unscaled) rotary embeddings are supported");
        }
        return parameters;
    }

    // The first (source, field) whose field is set; the last candidate when none is, so defaults and errors name it.
    private static (ConfigJson Source, string Field) FirstPresent(params (ConfigJson? Source, string Field)[] candidates)
    {
        foreach (var (source, field) in candidates)
            if (source != null && source.Has(field)) return (source, field);
        var last = candidates[^1];
        return (last.Source!, last.Field);
    }

    private static ModelConfig Gpt2Config(ConfigJson json)
    {
        int d = json.RequirePositiveInt("n_embd", ModelLimits.MaxDModel);
        int layers = json.RequirePositiveInt("n_layer", ModelLimits.MaxLayers);
        int heads = json.RequirePositiveInt("n_head", ModelLimits.MaxHeads);
        int dHead = HeadDim(json, "n_embd", d, "n_head", heads);
        // Variants that change the attention maths are refused rather than silently computed wrong.
        if (!json.OptionalBool("scale_attn_weights", true))
            throw json.Error("scale_attn_weights", "is false, but the engine always scales attention by 1/sqrt(d_head)");
        if (json.OptionalBool("scale_attn_by_inverse_layer_idx", false))
            throw json.Error("scale_attn_by_inverse_layer_idx", "is true, which the engine does not support");
        return new ModelConfig
        {
            Architecture = Architecture.Gpt2,
            DModel = d,
            NLayers = layers,
            NHeads = heads,
            NKvHeads = heads,
            DHead = dHead,
            DMlp = json.OptionalPositiveInt("n_inner", 4 * d, ModelLimits.MaxDMlp),
            VocabSize = json.RequirePositiveInt("vocab_size", ModelLimits.MaxVocab),
            MaxPositions = json.RequirePositiveInt("n_positions", ModelLimits.MaxPositions),
            Norm = NormKind.LayerNorm,
            NormEps = (float)json.OptionalPositiveNumber("layer_norm_epsilon", 1e-5),
            Activation = Activation(json, "activation_function", "gelu_new", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu"),
            Rotary = RotaryStyle.None,
            LearnedPositions = true,
            TiedEmbeddings = json.OptionalBool("tie_word_embeddings", true),
            QkvBias = true,
            AttnOutBias = true,
            MlpBias = true,
            BosTokenId = json.OptionalTokenId("bos_token_id"),
            EosTokenId = json.OptionalTokenId("eos_token_id"),
        };
    }

    private static ModelConfig NeoXConfig(ConfigJson json)
    {
        int d = json.RequirePositiveInt("hidden_size", ModelLimits.MaxDModel);
        int layers = json.RequirePositiveInt("num_hidden_layers", ModelLimits.MaxLayers);
        int heads = json.RequirePositiveInt("num_attention_heads", ModelLimits.MaxHeads);
        int dHead = HeadDim(json, "hidden_size", d, "num_attention_heads", heads);
        var rope = RopeParameters(json);

        // Hugging Face's GPTNeoXConfig defaults rotary_pct to 0.25; newer configs say partial_rotary_factor.
        var (pctSource, pctField) = FirstPresent((rope, "partial_rotary_factor"), (json, "partial_rotary_factor"), (json, "rotary_pct"));
        double pct = pctSource.OptionalPositiveNumber(pctField, 0.25);
        if (pct > 1) throw pctSource.Error(pctField, $"must be in (0, 1], found {pct}");
        int rotaryDims = (int)(dHead * pct);
        if (rotaryDims < 2 || rotaryDims % 2 != 0)
            throw pctSource.Error(pctField, $"({pct}) gives {rotaryDims} rotary dimensions of d_head={dHead}; expected an even number ≥ 2");
        var (baseSource, baseField) = FirstPresent((rope, "rope_theta"), (json, "rope_theta"), (json, "rotary_emb_base"));
        bool attnBias = json.OptionalBool("attention_bias", true);
        return new ModelConfig
        {
            Architecture = Architecture.GptNeoX,
            DModel = d,
            NLayers = layers,
            NHeads = heads,
            NKvHeads = heads,
            DHead = dHead,
            DMlp = json.RequirePositiveInt("intermediate_size", ModelLimits.MaxDMlp),
            VocabSize = json.RequirePositiveInt("vocab_size", ModelLimits.MaxVocab),
            MaxPositions = json.RequirePositiveInt("max_position_embeddings", ModelLimits.MaxPositions),
            Norm = NormKind.LayerNorm,
            NormEps = (float)json.OptionalPositiveNumber("layer_norm_eps", 1e-5),
            Activation = Activation(json, "hidden_act", "gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast"),
            ParallelAttnMlp = json.OptionalBool("use_parallel_residual", true),
            Rotary = RotaryStyle.RotateHalf,
            RotaryDims = rotaryDims,
            RotaryBase = (float)baseSource.OptionalPositiveNumber(baseField, 10000),
            LearnedPositions = false,
            TiedEmbeddings = json.OptionalBool("tie_word_embeddings", false),
            QkvBias = attnBias,
            AttnOutBias = attnBias,
            MlpBias = true,
            BosTokenId = json.OptionalTokenId("bos_token_id"),
            EosTokenId = json.OptionalTokenId("eos_token_id"),
        };
    }

    private static ModelConfig LlamaConfig(ConfigJson json, string modelType)
    {
        int d = json.RequirePositiveInt("hidden_size", ModelLimits.MaxDModel);
        int layers = json.RequirePositiveInt("num_hidden_layers", ModelLimits.MaxLayers);
        int heads = json.RequirePositiveInt("num_attention_heads", ModelLimits.MaxHeads);
        int kvHeads = json.OptionalPositiveInt("num_key_value_heads", heads, ModelLimits.MaxHeads);
        if (heads % kvHeads != 0)
            throw json.Error("num_key_value_heads", $"({kvHeads}) must divide 'num_attention_heads' ({heads})");
        int dHead = json.Has("head_dim")
            ? json.OptionalPositiveInt("head_dim", 0, ModelLimits.MaxDHead)
            : HeadDim(json, "hidden_size", d, "num_attention_heads", heads);
        var rope = RopeParameters(json);
        var (thetaSource, thetaField) = FirstPresent((rope, "rope_theta"), (json, "rope_theta"));
        if (json.OptionalBool("mlp_bias", false))
            throw json.Error("mlp_bias", "is true, but the engine has no bias slot for the gate projection");
        bool attnBias = json.OptionalBool("attention_bias", false);

        int maxPositions = json.RequirePositiveInt("max_position_embeddings", ModelLimits.MaxPositions);
        if (modelType == "mistral" && json.Has("sliding_window"))
        {
            // Within the window, sliding-window attention equals full causal attention, so capping the context keeps it exact.
            maxPositions = Math.Min(maxPositions, json.OptionalPositiveInt("sliding_window", maxPositions, ModelLimits.MaxPositions));
        }

        return new ModelConfig
        {
            Architecture = Architecture.Llama,
            DModel = d,
            NLayers = layers,
            NHeads = heads,
            NKvHeads = kvHeads,
            DHead = dHead,
            DMlp = json.RequirePositiveInt("intermediate_size", ModelLimits.MaxDMlp),
            VocabSize = json.RequirePositiveInt("vocab_size", ModelLimits.MaxVocab),
            MaxPositions = maxPositions,
            Norm = NormKind.RmsNorm,
            NormEps = (float)json.OptionalPositiveNumber("rms_norm_eps", 1e-6),
            Activation = Activation(json, "hidden_act", "silu", "silu", "swish"),
            GatedMlp = true,
            Rotary = RotaryStyle.RotateHalf,
            RotaryDims = dHead,
            RotaryBase = (float)thetaSource.OptionalPositiveNumber(thetaField, 10000),
            LearnedPositions = false,
            TiedEmbeddings = json.OptionalBool("tie_word_embeddings", false),
            QkvBias = attnBias,
            AttnOutBias = attnBias,
            MlpBias = false,
            BosTokenId = json.OptionalTokenId("bos_token_id"),
            EosTokenId = json.OptionalTokenId("eos_token_id"),
        };
    }

    // ---------------------------------------------------------------- tensors

    [GeneratedRegex(@"^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$")]
    private static partial Regex Gpt2Buffers();

    [GeneratedRegex(@"^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$")]
    private static partial Regex NeoXBuffers();

    [GeneratedRegex(@"^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$")]
    private static partial Regex LlamaBuffers();

    private static ModelWeights LoadGpt2(TensorSet t, ModelConfig c)
    {
        // Checkpoints saved from GPT2LMHeadModel carry the "transformer." prefix; those from GPT2Model do not.
        string p = t.Has("transformer.wte.weight") ? "transformer." : "";
        int d = c.DModel, m = c.DMlp, v = c.VocabSize;
        t.Ignore(n => Gpt2Buffers().IsMatch(n));

        float[] wte = t.Take(p + "wte.weight", v, d);
        float[] wpe = t.Take(p + "wpe.weight", c.MaxPositions, d);
        var layers = new LayerWeights[c.NLayers];
        float[] scratch = ArrayPool<float>.Shared.Rent(d * 3 * d);
        try
        {
            for (int l = 0; l < c.NLayers; l++)
            {
                string h = $"{p}h.{l}.";
                // Conv1D stores [in, out] already: c_attn's 3d output columns are q | k | v, each with heads in order.
                var (file, info) = t.Expect(h + "attn.c_attn.weight", d, 3 * d);
                var fused = scratch.AsSpan(0, d * 3 * d);
                file.ReadInto(info, fused);
                TensorSet.RequireFinite(file, info.Name, fused);
                float[] wq = new float[d * d], wk = new float[d * d], wv = new float[d * d];
                for (int r = 0; r < d; r++)
                {
                    var row = fused.Slice(r * 3 * d, 3 * d);
                    row[..d].CopyTo(wq.AsSpan(r * d, d));
                    row.Slice(d, d).CopyTo(wk.AsSpan(r * d, d));
                    row.Slice(2 * d, d).CopyTo(wv.AsSpan(r * d, d));
                }
                float[] bqkv = t.Take(h + "attn.c_attn.bias", 3 * d);

                layers[l] = new LayerWeights
                {
                    Ln1Weight = t.Take(h + "ln_1.weight", d),
                    Ln1Bias = t.Take(h + "ln_1.bias", d),
                    Wq = wq,
                    Wk = wk,
                    Wv = wv,
                    Bq = bqkv[..d],
                    Bk = bqkv[d..(2 * d)],
                    Bv = bqkv[(2 * d)..],
                    Wo = t.Take(h + "attn.c_proj.weight", d, d),
                    Bo = t.Take(h + "attn.c_proj.bias", d),
                    Ln2Weight = t.Take(h + "ln_2.weight", d),
                    Ln2Bias = t.Take(h + "ln_2.bias", d),
                    WIn = t.Take(h + "mlp.c_fc.weight", d, m),
                    BIn = t.Take(h + "mlp.c_fc.bias", m),
                    WOut = t.Take(h + "mlp.c_proj.weight", m, d),
                    BOut = t.Take(h + "mlp.c_proj.bias", d),
                };
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }

        return new ModelWeights
        {
            TokenEmbed = wte,
            PosEmbed = wpe,
            Layers = layers,
            LnFinalWeight = t.Take(p + "ln_f.weight", d),
            LnFinalBias = t.Take(p + "ln_f.bias", d),
            Unembed = Unembedding(t, "lm_head.weight", wte, p + "wte.weight", c, "tie_word_embeddings"),
        };
    }

    private static ModelWeights LoadNeoX(TensorSet t, ModelConfig c)
    {
        const string p = "gpt_neox.";
        int d = c.DModel, m = c.DMlp, v = c.VocabSize, H = c.NHeads, dh = c.DHead, q = H * dh;
        t.Ignore(n => NeoXBuffers().IsMatch(n));

        float[] embed = t.Take(p + "embed_in.weight", v, d);
        var layers = new LayerWeights[c.NLayers];
        float[] scratch = ArrayPool<float>.Shared.Rent(3 * q * d);
        try
        {
            for (int l = 0; l < c.NLayers; l++)
            {
                string h = $"{p}layers.{l}.";
                // nn.Linear [3·H·dh, d]; output row h·3·dh + j·dh + i is head h, part j (q, k, v), dimension i.
                var (file, info) = t.Expect(h + "attention.query_key_value.weight", 3 * q, d);
                var fused = scratch.AsSpan(0, 3 * q * d);
                file.ReadInto(info, fused);
                TensorSet.RequireFinite(file, info.Name, fused);
                float[][] parts = [new float[d * q], new float[d * q], new float[d * q]];
                for (int head = 0; head < H; head++)
                    for (int j = 0; j < 3; j++)
                        for (int i = 0; i < dh; i++)
                        {
                            var srcRow = fused.Slice(((head * 3 + j) * dh + i) * d, d);
                            int col = head * dh + i;
                            float[] dst = parts[j];
                            for (int r = 0; r < d; r++) dst[r * q + col] = srcRow[r];
                        }

                float[]?[] biases = [null, null, null];
                if (c.QkvBias)
                {
                    float[] fusedBias = t.Take(h + "attention.query_key_value.bias", 3 * q);
                    for (int j = 0; j < 3; j++)
                    {
                        var b = new float[q];
                        for (int head = 0; head < H; head++)
                            fusedBias.AsSpan((head * 3 + j) * dh, dh).CopyTo(b.AsSpan(head * dh, dh));
                        biases[j] = b;
                    }
                }

                layers[l] = new LayerWeights
                {
                    Ln1Weight = t.Take(h + "input_layernorm.weight", d),
                    Ln1Bias = t.Take(h + "input_layernorm.bias", d),
                    Wq = parts[0],
                    Wk = parts[1],
                    Wv = parts[2],
                    Bq = biases[0],
                    Bk = biases[1],
                    Bv = biases[2],
                    Wo = t.TakeTransposed(h + "attention.dense.weight", d, q),
                    Bo = c.AttnOutBias ? t.Take(h + "attention.dense.bias", d) : null,
                    Ln2Weight = t.Take(h + "post_attention_layernorm.weight", d),
                    Ln2Bias = t.Take(h + "post_attention_layernorm.bias", d),
                    WIn = t.TakeTransposed(h + "mlp.dense_h_to_4h.weight", m, d),
                    BIn = t.Take(h + "mlp.dense_h_to_4h.bias", m),
                    WOut = t.TakeTransposed(h + "mlp.dense_4h_to_h.weight", d, m),
                    BOut = t.Take(h + "mlp.dense_4h_to_h.bias", d),
                };
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }

        return new ModelWeights
        {
            TokenEmbed = embed,
            Layers = layers,
            LnFinalWeight = t.Take(p + "final_layer_norm.weight", d),
            LnFinalBias = t.Take(p + "final_layer_norm.bias", d),
            Unembed = Unembedding(t, "embed_out.weight", embed, p + "embed_in.weight", c, "tie_word_embeddings"),
        };
    }

    private static ModelWeights LoadLlama(TensorSet t, ModelConfig c)
    {
        int d = c.DModel, m = c.DMlp, v = c.VocabSize, q = c.NHeads * c.DHead, kv = c.NKvHeads * c.DHead;
        t.Ignore(n => LlamaBuffers().IsMatch(n));

        float[] embed = t.Take("model.embed_tokens.weight", v, d);
        var layers = new LayerWeights[c.NLayers];
        for (int l = 0; l < c.NLayers; l++)
        {
            string h = $"model.layers.{l}.";
            bool b = c.QkvBias;
            layers[l] = new LayerWeights
            {
                Ln1Weight = t.Take(h + "input_layernorm.weight", d),
                Ln2Weight = t.Take(h + "post_attention_layernorm.weight", d),
                Wq = t.TakeTransposed(h + "self_attn.q_proj.weight", q, d),
                Wk = t.TakeTransposed(h + "self_attn.k_proj.weight", kv, d),
                Wv = t.TakeTransposed(h + "self_attn.v_proj.weight", kv, d),
                Wo = t.TakeTransposed(h + "self_attn.o_proj.weight", d, q),
                Bq = b ? t.Take(h + "self_attn.q_proj.bias", q) : null,
                Bk = b ? t.Take(h + "self_attn.k_proj.bias", kv) : null,
                Bv = b ? t.Take(h + "self_attn.v_proj.bias", kv) : null,
                Bo = c.AttnOutBias ? t.Take(h + "self_attn.o_proj.bias", d) : null,
                WGate = t.TakeTransposed(h + "mlp.gate_proj.weight", m, d),
                WIn = t.TakeTransposed(h + "mlp.up_proj.weight", m, d),
                WOut = t.TakeTransposed(h + "mlp.down_proj.weight", d, m),
            };
        }

        return new ModelWeights
        {
            TokenEmbed = embed,
            Layers = layers,
            LnFinalWeight = t.Take("model.norm.weight", d),
            Unembed = Unembedding(t, "lm_head.weight", embed, "model.embed_tokens.weight", c, "tie_word_embeddings"),
        };
    }

    // Tied: the head must be absent or bit-equal to the embedding, and the embedding array itself is shared.
    private static float[] Unembedding(TensorSet t, string name, float[] embed, string embedName, ModelConfig c, string tieField)
    {
        if (!c.TiedEmbeddings) return t.Take(name, c.VocabSize, c.DModel);
        if (t.Has(name) && !t.SameAs(name, embed, c.VocabSize, c.DModel))
            throw new InvalidDataException($"{t.Source}: tensor '{name}' differs from '{embedName}' but config.json has " +
                $"{tieField}=true; a tied model must not store a different head.");
        return embed;
    }
}
