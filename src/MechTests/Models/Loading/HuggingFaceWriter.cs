using System.Text.Json;

namespace MechTests.Models.Loading;

/// <summary>
/// Writes a GPT-2 model as a Hugging Face folder that <see cref="HuggingFaceLoader"/> and transformers'
/// <c>GPT2LMHeadModel.from_pretrained</c> both load as it is: <c>config.json</c> and <c>model.safetensors</c> (F32,
/// GPT2Model names without the <c>transformer.</c> prefix, Conv1D <c>[in, out]</c> layout, q/k/v fused in c_attn,
/// unembedding tied to <c>wte</c>). Output is byte-for-byte deterministic for given weights.
/// </summary>
/// <example><code>
/// HuggingFaceWriter.WriteGpt2("models/induction-2l", config, weights);
/// var back = ModelLoader.Load("models/induction-2l");
/// </code></example>
public static class HuggingFaceWriter
{
    /// <summary>Writes <c>config.json</c> and <c>model.safetensors</c> into <paramref name="folder"/> (created if needed).</summary>
    /// <exception cref="ArgumentException">The config is not a tied GPT-2 with biases, or the weights do not match it.</exception>
    public static void WriteGpt2(string folder, ModelConfig config, ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        if (config.Architecture != Architecture.Gpt2 || !config.TiedEmbeddings || !config.QkvBias || !config.MlpBias || !config.AttnOutBias
            || config.NKvHeads != config.NHeads || config.NHeads * config.DHead != config.DModel)
            throw new ArgumentException("WriteGpt2 writes tied GPT-2 models with biases and d_model = n_heads·d_head only.", nameof(config));
        if (config.Activation != ActivationKind.GeluTanh)
            throw new ArgumentException($"WriteGpt2 writes gelu_new models; the config's activation is {config.Activation}.", nameof(config));
        WeightChecks.Check(config, weights, folder);
        Directory.CreateDirectory(folder);
        // Atomic, so a killed or failed write leaves the previous model (or none), never a torn one.
        var tensors = Tensors(config, weights);
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), ConfigJson(config));
        AtomicFile.Write(Path.Combine(folder, "model.safetensors"), tensors.WriteTo);
    }

    private static string ConfigJson(ModelConfig c)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("architectures");
            w.WriteStringValue("GPT2LMHeadModel");
            w.WriteEndArray();
            w.WriteString("model_type", "gpt2");
            w.WriteString("activation_function", "gelu_new");
            w.WriteNumber("n_embd", c.DModel);
            w.WriteNumber("n_layer", c.NLayers);
            w.WriteNumber("n_head", c.NHeads);
            w.WriteNumber("n_inner", c.DMlp);
            w.WriteNumber("n_positions", c.MaxPositions);
            w.WriteNumber("n_ctx", c.MaxPositions);
            w.WriteNumber("vocab_size", c.VocabSize);
            w.WriteNumber("layer_norm_epsilon", (double)(decimal)c.NormEps);
            if (c.BosTokenId is int bos) w.WriteNumber("bos_token_id", bos);
            if (c.EosTokenId is int eos) w.WriteNumber("eos_token_id", eos);
            w.WriteBoolean("tie_word_embeddings", true);
            w.WriteNumber("attn_pdrop", 0);
            w.WriteNumber("embd_pdrop", 0);
            w.WriteNumber("resid_pdrop", 0);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static SafeTensorsWriter Tensors(ModelConfig c, ModelWeights weights)
    {
        int d = c.DModel, m = c.DMlp;
        var w = new SafeTensorsWriter().SetMetadata("format", "pt");
        w.Add("wte.weight", weights.TokenEmbed, [c.VocabSize, d]);
        w.Add("wpe.weight", weights.PosEmbed!, [c.MaxPositions, d]);
        for (int l = 0; l < c.NLayers; l++)
        {
            var L = weights.Layers[l];
            string h = $"h.{l}.";
            // c_attn is [d, 3d]: each row is that input's q, k and v columns side by side.
            var cAttn = new float[d * 3 * d];
            for (int i = 0; i < d; i++)
            {
                Array.Copy(L.Wq, i * d, cAttn, i * 3 * d, d);
                Array.Copy(L.Wk, i * d, cAttn, i * 3 * d + d, d);
                Array.Copy(L.Wv, i * d, cAttn, i * 3 * d + 2 * d, d);
            }
            w.Add(h + "ln_1.weight", L.Ln1Weight, [d]).Add(h + "ln_1.bias", L.Ln1Bias!, [d]);
            w.Add(h + "attn.c_attn.weight", cAttn, [d, 3 * d]).Add(h + "attn.c_attn.bias", [.. L.Bq!, .. L.Bk!, .. L.Bv!], [3 * d]);
            w.Add(h + "attn.c_proj.weight", L.Wo, [d, d]).Add(h + "attn.c_proj.bias", L.Bo!, [d]);
            w.Add(h + "ln_2.weight", L.Ln2Weight, [d]).Add(h + "ln_2.bias", L.Ln2Bias!, [d]);
            w.Add(h + "mlp.c_fc.weight", L.WIn, [d, m]).Add(h + "mlp.c_fc.bias", L.BIn!, [m]);
            w.Add(h + "mlp.c_proj.weight", L.WOut, [m, d]).Add(h + "mlp.c_proj.bias", L.BOut!, [d]);
        }
        w.Add("ln_f.weight", weights.LnFinalWeight, [d]).Add("ln_f.bias", weights.LnFinalBias!, [d]);
        return w;
    }
}
