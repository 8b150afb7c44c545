using System.Text.Json;
using MechTests.Models;
using MechTests.Models.Loading;
using Xunit;
using static MechTests.Tests.Loading.LoadingTestSupport;

namespace MechTests.Tests.Loading;

/// <summary>A synthetic Hugging Face folder: config values plus named tensors, editable before writing.</summary>
internal sealed class HfFolder
{
    public Dictionary<string, object?> Config { get; } = [];
    public Dictionary<string, (float[] Data, int[] Shape)> Tensors { get; } = new(StringComparer.Ordinal);
    private int _seed = 100;

    public float[] Add(string name, params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var data = Pattern(_seed++, n);
        Tensors[name] = (data, shape);
        return data;
    }

    public float[] this[string name] => Tensors[name].Data;

    public string Write(TempDir dir, SafeTensorsDType dtype = SafeTensorsDType.F32)
    {
        File.WriteAllText(dir.File("config.json"), JsonSerializer.Serialize(Config));
        var w = new SafeTensorsWriter();
        foreach (var (name, (data, shape)) in Tensors) w.Add(name, data, shape, dtype);
        w.Write(dir.File("model.safetensors"));
        return dir.Path;
    }

    /// <summary>Writes config.json, two shards (first half of names, second half) and the index; returns index then shards.</summary>
    public string[] WriteSharded(TempDir dir)
    {
        File.WriteAllText(dir.File("config.json"), JsonSerializer.Serialize(Config));
        var names = Tensors.Keys.Order(StringComparer.Ordinal).ToList();
        string[] shardNames = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
        var writers = new[] { new SafeTensorsWriter(), new SafeTensorsWriter() };
        var map = new Dictionary<string, string>();
        for (int i = 0; i < names.Count; i++)
        {
            int s = i < names.Count / 2 ? 0 : 1;
            writers[s].Add(names[i], Tensors[names[i]].Data, Tensors[names[i]].Shape);
            map[names[i]] = shardNames[s];
        }
        writers[0].Write(dir.File(shardNames[0]));
        writers[1].Write(dir.File(shardNames[1]));
        File.WriteAllText(dir.File("model.safetensors.index.json"),
            JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        return [dir.File("model.safetensors.index.json"), dir.File(shardNames[0]), dir.File(shardNames[1])];
    }

    // GPT-2: d=8, 2 heads, 2 layers, vocab 11, 7 positions, n_inner null → 32.
    public static HfFolder Gpt2(string prefix = "transformer.")
    {
        const int d = 8, m = 32, v = 11, p = 7;
        var f = new HfFolder();
        f.Config["model_type"] = "gpt2";
        f.Config["n_embd"] = d;
        f.Config["n_layer"] = 2;
        f.Config["n_head"] = 2;
        f.Config["n_inner"] = null;
        f.Config["vocab_size"] = v;
        f.Config["n_positions"] = p;
        f.Config["layer_norm_epsilon"] = 1e-5;
        f.Config["activation_function"] = "gelu_new";
        f.Config["bos_token_id"] = 10;
        f.Config["eos_token_id"] = 10;
        f.Add(prefix + "wte.weight", v, d);
        f.Add(prefix + "wpe.weight", p, d);
        for (int l = 0; l < 2; l++)
        {
            string h = $"{prefix}h.{l}.";
            f.Add(h + "ln_1.weight", d); f.Add(h + "ln_1.bias", d);
            f.Add(h + "attn.c_attn.weight", d, 3 * d); f.Add(h + "attn.c_attn.bias", 3 * d);
            f.Add(h + "attn.c_proj.weight", d, d); f.Add(h + "attn.c_proj.bias", d);
            f.Add(h + "ln_2.weight", d); f.Add(h + "ln_2.bias", d);
            f.Add(h + "mlp.c_fc.weight", d, m); f.Add(h + "mlp.c_fc.bias", m);
            f.Add(h + "mlp.c_proj.weight", m, d); f.Add(h + "mlp.c_proj.bias", d);
            f.Add(h + "attn.bias", 1, 1, p, p);   // causal-mask buffer: ignored
            f.Add(h + "attn.masked_bias");        // scalar buffer: ignored
        }
        f.Add(prefix + "ln_f.weight", d); f.Add(prefix + "ln_f.bias", d);
        return f;
    }

    // GPT-NeoX: d=8, 2 heads of 4, 1 layer, mlp 16, vocab 10, rotary_pct 0.5 → 2 rotary dims.
    public static HfFolder NeoX()
    {
        const int d = 8, m = 16, v = 10;
        var f = new HfFolder();
        f.Config["model_type"] = "gpt_neox";
        f.Config["hidden_size"] = d;
        f.Config["num_hidden_layers"] = 1;
        f.Config["num_attention_heads"] = 2;
        f.Config["intermediate_size"] = m;
        f.Config["vocab_size"] = v;
        f.Config["max_position_embeddings"] = 16;
        f.Config["layer_norm_eps"] = 1e-5;
        f.Config["rotary_pct"] = 0.5;
        f.Config["rotary_emb_base"] = 10000;
        f.Config["use_parallel_residual"] = true;
        f.Config["hidden_act"] = "gelu";
        f.Config["tie_word_embeddings"] = false;
        f.Config["bos_token_id"] = 0;
        f.Config["eos_token_id"] = 0;
        f.Add("gpt_neox.embed_in.weight", v, d);
        const string h = "gpt_neox.layers.0.";
        f.Add(h + "input_layernorm.weight", d); f.Add(h + "input_layernorm.bias", d);
        f.Add(h + "post_attention_layernorm.weight", d); f.Add(h + "post_attention_layernorm.bias", d);
        f.Add(h + "attention.query_key_value.weight", 3 * d, d); f.Add(h + "attention.query_key_value.bias", 3 * d);
        f.Add(h + "attention.dense.weight", d, d); f.Add(h + "attention.dense.bias", d);
        f.Add(h + "attention.rotary_emb.inv_freq", 1);
        f.Add(h + "attention.masked_bias");
        f.Add(h + "mlp.dense_h_to_4h.weight", m, d); f.Add(h + "mlp.dense_h_to_4h.bias", m);
        f.Add(h + "mlp.dense_4h_to_h.weight", d, m); f.Add(h + "mlp.dense_4h_to_h.bias", d);
        f.Add("gpt_neox.final_layer_norm.weight", d); f.Add("gpt_neox.final_layer_norm.bias", d);
        f.Add("embed_out.weight", v, d);
        return f;
    }

    // Llama: d=16, 4 heads of 4, 2 kv heads, 2 layers, mlp 24, vocab 12.
    public static HfFolder Llama(bool tied = false)
    {
        const int d = 16, m = 24, v = 12, q = 16, kv = 8;
        var f = new HfFolder();
        f.Config["model_type"] = "llama";
        f.Config["hidden_size"] = d;
        f.Config["num_hidden_layers"] = 2;
        f.Config["num_attention_heads"] = 4;
        f.Config["num_key_value_heads"] = 2;
        f.Config["intermediate_size"] = m;
        f.Config["vocab_size"] = v;
        f.Config["max_position_embeddings"] = 32;
        f.Config["rms_norm_eps"] = 1e-6;
        f.Config["rope_theta"] = 500000.0;
        f.Config["hidden_act"] = "silu";
        f.Config["tie_word_embeddings"] = tied;
        f.Config["bos_token_id"] = 1;
        f.Config["eos_token_id"] = new[] { 2, 3 };
        f.Add("model.embed_tokens.weight", v, d);
        for (int l = 0; l < 2; l++)
        {
            string h = $"model.layers.{l}.";
            f.Add(h + "input_layernorm.weight", d);
            f.Add(h + "post_attention_layernorm.weight", d);
            f.Add(h + "self_attn.q_proj.weight", q, d);
            f.Add(h + "self_attn.k_proj.weight", kv, d);
            f.Add(h + "self_attn.v_proj.weight", kv, d);
            f.Add(h + "self_attn.o_proj.weight", d, q);
            f.Add(h + "mlp.gate_proj.weight", m, d);
            f.Add(h + "mlp.up_proj.weight", m, d);
            f.Add(h + "mlp.down_proj.weight", d, m);
        }
        f.Add("model.norm.weight", d);
        if (!tied) f.Add("lm_head.weight", v, d);
        return f;
    }
}

public class HuggingFaceLoaderTests
{
    /// <summary>Asserts canonical [in, out] equals the nn.Linear weight [out, in] transposed.</summary>
    private static void AssertTransposed(float[] linearOutIn, int outDim, int inDim, float[] canonical)
    {
        Assert.Equal(linearOutIn.Length, canonical.Length);
        for (int o = 0; o < outDim; o++)
            for (int i = 0; i < inDim; i++)
                Assert.Equal(linearOutIn[o * inDim + i], canonical[i * outDim + o]);
    }

    private static InvalidDataException LoadFails(string folder) =>
        Assert.Throws<InvalidDataException>(() => HuggingFaceLoader.Load(folder));

    [Fact]
    public void Gpt2_config_maps_to_the_engine_config()
    {
        using var dir = new TempDir();
        var c = HuggingFaceLoader.Load(HfFolder.Gpt2().Write(dir)).Config;
        Assert.Equal(Architecture.Gpt2, c.Architecture);
        Assert.Equal((8, 2, 2, 2, 4, 32, 11, 7), (c.DModel, c.NLayers, c.NHeads, c.NKvHeads, c.DHead, c.DMlp, c.VocabSize, c.MaxPositions));
        Assert.Equal(NormKind.LayerNorm, c.Norm);
        Assert.Equal(ActivationKind.GeluTanh, c.Activation);
        Assert.Equal(RotaryStyle.None, c.Rotary);
        Assert.True(c.LearnedPositions && c.TiedEmbeddings && c.QkvBias && c.AttnOutBias && c.MlpBias);
        Assert.False(c.GatedMlp || c.ParallelAttnMlp);
        Assert.Equal(10, c.BosTokenId);
    }

    [Fact]
    public void Gpt2_conv1d_weights_are_used_as_stored_and_c_attn_splits_into_column_blocks()
    {
        using var dir = new TempDir();
        var f = HfFolder.Gpt2();
        var w = HuggingFaceLoader.Load(f.Write(dir)).Weights;
        const int d = 8;
        var lw = w.Layers[1];
        float[] cAttn = f["transformer.h.1.attn.c_attn.weight"];
        for (int r = 0; r < d; r++)
            for (int c = 0; c < d; c++)
            {
                Assert.Equal(cAttn[r * 3 * d + c], lw.Wq[r * d + c]);
                Assert.Equal(cAttn[r * 3 * d + d + c], lw.Wk[r * d + c]);
                Assert.Equal(cAttn[r * 3 * d + 2 * d + c], lw.Wv[r * d + c]);
            }
        float[] bAttn = f["transformer.h.1.attn.c_attn.bias"];
        Assert.Equal(bAttn[..d], lw.Bq);
        Assert.Equal(bAttn[d..(2 * d)], lw.Bk);
        Assert.Equal(bAttn[(2 * d)..], lw.Bv);
        // Conv1D is already [in, out]: no transpose.
        Assert.Equal(f["transformer.h.1.attn.c_proj.weight"], lw.Wo);
        Assert.Equal(f["transformer.h.1.mlp.c_fc.weight"], lw.WIn);
        Assert.Equal(f["transformer.h.1.mlp.c_proj.weight"], lw.WOut);
        Assert.Equal(f["transformer.h.1.ln_2.bias"], lw.Ln2Bias);
        Assert.Equal(f["transformer.wpe.weight"], w.PosEmbed);
        Assert.Equal(f["transformer.ln_f.weight"], w.LnFinalWeight);
        Assert.Null(lw.WGate);
        // Tied with no lm_head: one array.
        Assert.Same(w.TokenEmbed, w.Unembed);
    }

    [Fact]
    public void Gpt2_without_prefix_and_an_equal_lm_head_shares_the_embedding_array()
    {
        using var dir = new TempDir();
        var f = HfFolder.Gpt2(prefix: "");
        f.Tensors["lm_head.weight"] = ((float[])f["wte.weight"].Clone(), [11, 8]);
        var w = HuggingFaceLoader.Load(f.Write(dir)).Weights;
        Assert.Same(w.TokenEmbed, w.Unembed);
        Assert.Equal(f["wte.weight"], w.TokenEmbed);
    }

    [Fact]
    public void Gpt2_lm_head_that_differs_from_a_tied_embedding_is_an_error()
    {
        using var dir = new TempDir();
        var f = HfFolder.Gpt2();
        f.Add("lm_head.weight", 11, 8);
        var ex = LoadFails(f.Write(dir));
        Assert.Contains("model.safetensors", ex.Message);
        Assert.Contains("tensor 'lm_head.weight' differs from 'transformer.wte.weight'", ex.Message);
    }

    [Fact]
    public void Half_precision_checkpoints_are_converted()
    {
        using var dir = new TempDir();
        var f = HfFolder.Gpt2();
        var w = HuggingFaceLoader.Load(f.Write(dir, SafeTensorsDType.BF16)).Weights;
        float[] src = f["transformer.h.0.mlp.c_fc.weight"];
        for (int i = 0; i < src.Length; i++)
            Assert.Equal(SafeTensorsDTypes.BFloat16ToSingle(SafeTensorsDTypes.SingleToBFloat16(src[i])), w.Layers[0].WIn[i]);
    }

    [Fact]
    public void Missing_tensor_names_file_and_tensor()
    {
        using var dir = new TempDir();
        var f = HfFolder.Gpt2();
        f.Tensors.Remove("transformer.ln_f.bias");
        var ex = LoadFails(f.Write(dir));
        Assert.Contains(dir.File("model.safetensors"), ex.Message);
        Assert.Contains("tensor 'transformer.ln_f.bias' is missing (expected shape [8])", ex.Message);
    }

    [Fact]
    public void Wrong_shape_names_file_tensor_and_both_shapes()
    {
        using var dir = new TempDir();
        var f = HfFolder.Gpt2();
        f.Tensors["transformer.h.0.attn.c_attn.weight"] = (new float[16 * 24], [16, 24]);
        var ex = LoadFails(f.Write(dir));
        Assert.Equal($"{dir.File("model.safetensors")}: tensor 'transformer.h.0.attn.c_attn.weight' has shape [16, 24], expected [8, 24]", ex.Message);
    }

    [Fact]
    public void Unexpected_tensors_are_reported_by_name()
    {
        using var dir = new TempDir();
        var f = HfFolder.Gpt2();
        f.Add("transformer.h.0.attn.q_norm.weight", 8);
        f.Add("score.weight", 2, 8);
        var ex = LoadFails(f.Write(dir));
        Assert.Contains("2 unexpected tensor(s) for a Gpt2 checkpoint: 'score.weight', 'transformer.h.0.attn.q_norm.weight'", ex.Message);
    }

    [Fact]
    public void NeoX_config_maps_partial_rotary_and_parallel_residual()
    {
        using var dir = new TempDir();
        var c = HuggingFaceLoader.Load(HfFolder.NeoX().Write(dir)).Config;
        Assert.Equal(Architecture.GptNeoX, c.Architecture);
        Assert.Equal((8, 2, 4, 16, 10, 16), (c.DModel, c.NHeads, c.DHead, c.DMlp, c.VocabSize, c.MaxPositions));
        Assert.Equal(RotaryStyle.RotateHalf, c.Rotary);
        Assert.Equal(2, c.RotaryDims);
        Assert.Equal(ActivationKind.GeluErf, c.Activation);
        Assert.True(c.ParallelAttnMlp);
        Assert.False(c.TiedEmbeddings || c.LearnedPositions);
        Assert.True(c.QkvBias && c.AttnOutBias && c.MlpBias);
    }

    [Fact]
    public void NeoX_fused_qkv_is_deinterleaved_per_head()
    {
        using var dir = new TempDir();
        var f = HfFolder.NeoX();
        var lw = HuggingFaceLoader.Load(f.Write(dir)).Weights.Layers[0];
        const int d = 8, dh = 4;
        float[] fused = f["gpt_neox.layers.0.attention.query_key_value.weight"]; // [24 out, 8 in]
        float[] fusedBias = f["gpt_neox.layers.0.attention.query_key_value.bias"];

        // Head 1's key, dimension 2 is fused output row (1·3 + 1)·4 + 2 = 18; canonically it is column 1·4 + 2 = 6 of W_K.
        for (int r = 0; r < d; r++)
            Assert.Equal(fused[18 * d + r], lw.Wk[r * d + 6]);
        Assert.Equal(fusedBias[18], lw.Bk![6]);
        // Head 0's value, dimension 3 is row (0·3 + 2)·4 + 3 = 11 → W_V column 3.
        for (int r = 0; r < d; r++)
            Assert.Equal(fused[11 * d + r], lw.Wv[r * d + 3]);

        // Independent check: the fused Linear y = W·x + b equals x·W_part + b_part for every head/part/dimension.
        float[] x = Pattern(7, d);
        float[][] parts = [lw.Wq, lw.Wk, lw.Wv];
        float[][] biases = [lw.Bq!, lw.Bk!, lw.Bv!];
        for (int head = 0; head < 2; head++)
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < dh; i++)
                {
                    int row = (head * 3 + j) * dh + i, col = head * dh + i;
                    double fusedOut = fusedBias[row], canonicalOut = biases[j][col];
                    for (int r = 0; r < d; r++)
                    {
                        fusedOut += (double)fused[row * d + r] * x[r];
                        canonicalOut += (double)x[r] * parts[j][r * d + col];
                    }
                    Assert.Equal(fusedOut, canonicalOut, 12);
                }
    }

    [Fact]
    public void NeoX_linear_weights_are_transposed_and_the_head_is_untied()
    {
        using var dir = new TempDir();
        var f = HfFolder.NeoX();
        var w = HuggingFaceLoader.Load(f.Write(dir)).Weights;
        var lw = w.Layers[0];
        AssertTransposed(f["gpt_neox.layers.0.attention.dense.weight"], 8, 8, lw.Wo);
        Assert.NotEqual(f["gpt_neox.layers.0.attention.dense.weight"], lw.Wo);
        AssertTransposed(f["gpt_neox.layers.0.mlp.dense_h_to_4h.weight"], 16, 8, lw.WIn);
        AssertTransposed(f["gpt_neox.layers.0.mlp.dense_4h_to_h.weight"], 8, 16, lw.WOut);
        Assert.Equal(f["gpt_neox.layers.0.mlp.dense_h_to_4h.bias"], lw.BIn);
        Assert.Equal(f["gpt_neox.layers.0.post_attention_layernorm.weight"], lw.Ln2Weight);
        Assert.Equal(f["embed_out.weight"], w.Unembed);
        Assert.NotSame(w.TokenEmbed, w.Unembed);
        Assert.Equal(f["gpt_neox.final_layer_norm.bias"], w.LnFinalBias);
    }

    [Fact]
    public void NeoX_bool_mask_buffers_are_ignored()
    {
        using var dir = new TempDir();
        var f = HfFolder.NeoX();
        string folder = f.Write(dir);
        // Real Pythia checkpoints carry a BOOL attention.bias mask; the writer only writes numbers, so build the file by hand.
        var header = new Dictionary<string, object>();
        var data = new MemoryStream();
        foreach (var (name, (values, shape)) in f.Tensors)
        {
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { data.Length, data.Length + 4L * values.Length } };
            foreach (float v in values) data.Write(BitConverter.GetBytes(v));
        }
        header["gpt_neox.layers.0.attention.bias"] = new { dtype = "BOOL", shape = new[] { 1, 1, 4, 4 }, data_offsets = new[] { data.Length, data.Length + 16 } };
        data.Write(new byte[16]);
        WriteRawSafeTensors(dir.File("model.safetensors"), JsonSerializer.Serialize(header), data.ToArray());

        var w = HuggingFaceLoader.Load(folder).Weights;
        Assert.Equal(f["embed_out.weight"], w.Unembed);
    }

    [Fact]
    public void Llama_linear_weights_are_transposed_with_grouped_query_attention()
    {
        using var dir = new TempDir();
        var f = HfFolder.Llama();
        var loaded = HuggingFaceLoader.Load(f.Write(dir));
        var c = loaded.Config;
        Assert.Equal(Architecture.Llama, c.Architecture);
        Assert.Equal((16, 2, 4, 2, 4, 24, 12, 32), (c.DModel, c.NLayers, c.NHeads, c.NKvHeads, c.DHead, c.DMlp, c.VocabSize, c.MaxPositions));
        Assert.Equal(NormKind.RmsNorm, c.Norm);
        Assert.Equal(1e-6f, c.NormEps);
        Assert.Equal(ActivationKind.Silu, c.Activation);
        Assert.True(c.GatedMlp);
        Assert.Equal(RotaryStyle.RotateHalf, c.Rotary);
        Assert.Equal(4, c.RotaryDims);
        Assert.Equal(500000f, c.RotaryBase);
        Assert.False(c.TiedEmbeddings || c.QkvBias || c.MlpBias || c.ParallelAttnMlp);
        Assert.Equal((1, 2), (c.BosTokenId, c.EosTokenId));

        var w = loaded.Weights;
        var lw = w.Layers[1];
        AssertTransposed(f["model.layers.1.self_attn.q_proj.weight"], 16, 16, lw.Wq);
        AssertTransposed(f["model.layers.1.self_attn.k_proj.weight"], 8, 16, lw.Wk);
        AssertTransposed(f["model.layers.1.self_attn.v_proj.weight"], 8, 16, lw.Wv);
        AssertTransposed(f["model.layers.1.self_attn.o_proj.weight"], 16, 16, lw.Wo);
        AssertTransposed(f["model.layers.1.mlp.gate_proj.weight"], 24, 16, lw.WGate!);
        AssertTransposed(f["model.layers.1.mlp.up_proj.weight"], 24, 16, lw.WIn);
        AssertTransposed(f["model.layers.1.mlp.down_proj.weight"], 16, 24, lw.WOut);
        Assert.Equal(f["model.layers.1.input_layernorm.weight"], lw.Ln1Weight);
        Assert.Null(lw.Ln1Bias);
        Assert.Null(lw.Bq);
        Assert.Equal(f["model.norm.weight"], w.LnFinalWeight);
        Assert.Equal(f["lm_head.weight"], w.Unembed);
        Assert.NotSame(w.TokenEmbed, w.Unembed);
    }

    [Fact]
    public void Llama_tied_without_lm_head_shares_the_array()
    {
        using var dir = new TempDir();
        var w = HuggingFaceLoader.Load(HfFolder.Llama(tied: true).Write(dir)).Weights;
        Assert.Same(w.TokenEmbed, w.Unembed);
    }

    [Fact]
    public void Llama_config_on_gpt2_tensors_fails_on_the_first_missing_tensor()
    {
        using var dir = new TempDir();
        var f = HfFolder.Gpt2();
        foreach (var (k, v) in HfFolder.Llama().Config) f.Config[k] = v;
        var ex = LoadFails(f.Write(dir));
        Assert.Contains("tensor 'model.embed_tokens.weight' is missing", ex.Message);
    }

    [Fact]
    public void Mistral_sliding_window_caps_the_context()
    {
        using var dir = new TempDir();
        var f = HfFolder.Llama();
        f.Config["model_type"] = "mistral";
        f.Config["sliding_window"] = 20;
        Assert.Equal(20, HuggingFaceLoader.Load(f.Write(dir)).Config.MaxPositions);
    }

    [Fact]
    public void Sharded_checkpoint_loads_like_the_single_file_and_lists_index_then_shards()
    {
        using var single = new TempDir();
        using var sharded = new TempDir();
        var f = HfFolder.Llama();
        var reference = HuggingFaceLoader.Load(f.Write(single)).Weights;

        string[] files = f.WriteSharded(sharded);
        var loaded = HuggingFaceLoader.Load(sharded.Path);
        Assert.Equal(files, loaded.WeightFiles);
        var a = reference.Named().ToList();
        var b = loaded.Weights.Named().ToList();
        Assert.Equal(a.Select(x => x.Name), b.Select(x => x.Name));
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Value, b[i].Value);
    }

    [Fact]
    public void Sharded_index_that_points_outside_the_folder_or_misses_a_tensor_fails()
    {
        using var dir = new TempDir();
        var f = HfFolder.Llama();
        f.Write(dir);
        File.Move(dir.File("model.safetensors"), dir.File("model-00001-of-00001.safetensors"));
        var map = f.Tensors.Keys.ToDictionary(k => k, _ => "model-00001-of-00001.safetensors");
        map["model.extra.weight"] = "model-00001-of-00001.safetensors";
        File.WriteAllText(dir.File("model.safetensors.index.json"), JsonSerializer.Serialize(new { weight_map = map }));
        Assert.Contains("tensor 'model.extra.weight' is missing (listed in model.safetensors.index.json)", LoadFails(dir.Path).Message);

        map.Remove("model.extra.weight");
        map["model.norm.weight"] = "../elsewhere.safetensors";
        File.WriteAllText(dir.File("model.safetensors.index.json"), JsonSerializer.Serialize(new { weight_map = map }));
        Assert.Contains("shard '../elsewhere.safetensors' is not a plain file name", LoadFails(dir.Path).Message);
    }

    private const string Gpt2Base = """
        "model_type": "gpt2", "n_embd": 8, "n_layer": 2, "n_head": 2, "vocab_size": 11, "n_positions": 7
        """;

    [Theory]
    [InlineData("""{"n_embd": 8}""", "field 'model_type' is missing (required)")]
    [InlineData("""{"model_type": "bert"}""", "field 'model_type' is 'bert', which is not supported; supported: gpt2, gpt_neox, llama, mistral")]
    [InlineData("""{"model_type": 3}""", "field 'model_type' must be a string, found Number 3")]
    [InlineData("""{"model_type": "gpt2", "n_embd": 8, "n_layer": 2, "vocab_size": 11, "n_positions": 7}""", "field 'n_head' is missing (required)")]
    [InlineData("""{"model_type": "gpt2", "n_embd": "8", "n_layer": 2, "n_head": 2, "vocab_size": 11, "n_positions": 7}""", "field 'n_embd' must be an integer, found String \"8\"")]
    [InlineData("""{"model_type": "gpt2", "n_embd": 8.5, "n_layer": 2, "n_head": 2, "vocab_size": 11, "n_positions": 7}""", "field 'n_embd' must be an integer, found Number 8.5")]
    [InlineData("""{"model_type": "gpt2", "n_embd": 8, "n_layer": 0, "n_head": 2, "vocab_size": 11, "n_positions": 7}""", "field 'n_layer' must be positive, found 0")]
    [InlineData("""{"model_type": "gpt2", "n_embd": 10, "n_layer": 2, "n_head": 4, "vocab_size": 11, "n_positions": 7}""", "field 'n_embd' (10) must be divisible by 'n_head' (4)")]
    [InlineData("{" + Gpt2Base + """, "activation_function": "relu"}""", "field 'activation_function' is 'relu', which is not supported; supported: gelu_new")]
    [InlineData("{" + Gpt2Base + """, "layer_norm_epsilon": -1}""", "field 'layer_norm_epsilon' must be a positive number, found -1")]
    [InlineData("{" + Gpt2Base + """, "tie_word_embeddings": "yes"}""", "field 'tie_word_embeddings' must be true or false")]
    [InlineData("{" + Gpt2Base + """, "scale_attn_by_inverse_layer_idx": true}""", "field 'scale_attn_by_inverse_layer_idx' is true")]
    [InlineData("""{"model_type": "gpt_neox", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": 16, "rotary_pct": 0.1}""", "field 'rotary_pct' (0.1) gives 0 rotary dimensions of d_head=4")]
    [InlineData("""{"model_type": "gpt_neox", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 10, "max_position_embeddings": 16, "rotary_pct": 1.0}""", "field 'intermediate_size' is missing (required)")]
    [InlineData("""{"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 3, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 16}""", "field 'num_key_value_heads' (3) must divide 'num_attention_heads' (4)")]
    [InlineData("""{"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 16, "hidden_act": "gelu"}""", "field 'hidden_act' is 'gelu', which is not supported; supported: silu, swish")]
    [InlineData("""{"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 16, "rope_scaling": {"type": "linear", "factor": 2.0}}""", "field 'rope_scaling.type' is 'linear'; only default")]
    [InlineData("""{"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 16, "rope_parameters": {"rope_type": "llama3", "rope_theta": 5.0}}""", "field 'rope_parameters.rope_type' is 'llama3'; only default")]
    [InlineData("""{"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 16, "rope_parameters": {"rope_theta": "big"}}""", "field 'rope_parameters.rope_theta' must be a number")]
    [InlineData("""{"model_type": "llama", """, "not valid JSON")]
    [InlineData("""[1]""", "the root must be a JSON object")]
    public void Config_errors_name_the_file_and_field(string json, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        File.WriteAllText(path, json);
        var ex = Assert.Throws<InvalidDataException>(() => HuggingFaceLoader.ReadConfig(path));
        Assert.StartsWith(path + ":", ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Gpt2_defaults_fill_optional_fields()
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        File.WriteAllText(path, "{" + Gpt2Base + "}");
        var c = HuggingFaceLoader.ReadConfig(path);
        Assert.Equal(32, c.DMlp);
        Assert.Equal(1e-5f, c.NormEps);
        Assert.Equal(ActivationKind.GeluTanh, c.Activation);
        Assert.True(c.TiedEmbeddings);
        Assert.Null(c.BosTokenId);
    }

    [Theory]
    [InlineData(""", "rope_theta": 1000.0, "rope_scaling": {"rope_type": "default"}""", 1000f)]
    [InlineData(""", "rope_theta": 1000.0, "rope_parameters": {"rope_type": "default", "rope_theta": 250.0}""", 250f)]
    [InlineData("", 10000f)]
    public void Llama_rope_theta_comes_from_rope_parameters_or_the_top_level(string extra, float expected)
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        File.WriteAllText(path, """{"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 16""" + extra + "}");
        Assert.Equal(expected, HuggingFaceLoader.ReadConfig(path).RotaryBase);
    }

    [Fact]
    public void NeoX_defaults_to_a_quarter_of_the_head_rotary_and_reads_newer_field_names()
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        const string baseJson = """{"model_type": "gpt_neox", "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 16""";
        File.WriteAllText(path, baseJson + "}");
        var c = HuggingFaceLoader.ReadConfig(path);
        Assert.Equal((4, 10000f, true, ActivationKind.GeluErf), (c.RotaryDims, c.RotaryBase, c.ParallelAttnMlp, c.Activation));
        File.WriteAllText(path, baseJson + """, "rope_parameters": {"rope_type": "default", "rope_theta": 500.0, "partial_rotary_factor": 0.5}, "use_parallel_residual": false}""");
        c = HuggingFaceLoader.ReadConfig(path);
        Assert.Equal((8, 500f, false), (c.RotaryDims, c.RotaryBase, c.ParallelAttnMlp));
    }

    [Fact]
    public void A_folder_without_safetensors_says_what_it_looked_for()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), "{" + Gpt2Base + "}");
        File.WriteAllBytes(dir.File("pytorch_model.bin"), [0]);
        var ex = Assert.Throws<FileNotFoundException>(() => HuggingFaceLoader.Load(dir.Path));
        Assert.Contains("neither model.safetensors nor model.safetensors.index.json", ex.Message);
        Assert.Contains("PyTorch .bin checkpoints are not supported", ex.Message);
    }
}
