using System.Text.Json;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Tests.Engine;

/// <summary>
/// The engine against an independent PyTorch implementation (tests/reference/make_fixtures.py, float64): logits,
/// every hook point's activation and gradient, GradDrop gradients and weight gradients. Tolerance: max abs error
/// ≤ 1e-4 × the tensor's scale (the logit scale for logits).
/// </summary>
public class ReferenceTests
{
    private readonly ITestOutputHelper _output;

    public ReferenceTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> Models => new() { "gpt2", "gpt_neox", "llama", "stories260K", "gpt2-f16", "gpt2-bf16" };

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "reference", name);

    private static LoadedModel Load(string name) => name == "stories260K"
        ? ModelLoader.Load(Path.Combine(Loading.LoadingTestSupport.FindRepoRoot(), "models", "stories260K", "stories260K.bin"))
        : ModelLoader.Load(Fixture(name));

    [Theory]
    [MemberData(nameof(Models))]
    public void ActivationsAndGradientsMatchPyTorch(string name)
    {
        var model = Load(name);
        var engine = new Transformer(model.Config, model.Weights);
        using var reference = SafeTensorsFile.Open(Path.Combine(Fixture(name), "reference.safetensors"));
        var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixture(name), "reference.json"))).RootElement;
        var tokens = meta.GetProperty("tokens").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();
        var pass = engine.Run(tokens, new RunOptions { Cache = HookFilter.All, RecordForBackward = true });

        var refLogits = reference.GetTensor("act.hook_logits");
        double logitScale = refLogits.Max(Math.Abs);
        double worstRatio = Compare("logits", pass.Logits.Data, refLogits, logitScale);

        bool hasGrads = reference.Contains("dlogits");
        BackwardPass? back = null;
        if (hasGrads)
        {
            var dl = reference.GetTensor("dlogits");
            back = engine.Backward(pass, new Tensor(dl, pass.Logits.Shape), new BackwardOptions { WeightGradients = true });
            double metric = 0;
            for (int i = 0; i < dl.Length; i++) metric += (double)dl[i] * pass.Logits.Data[i];
            Assert.True(Math.Abs(metric - meta.GetProperty("metric").GetDouble()) <= 1e-4 * Math.Abs(metric) + 1e-3, $"metric {metric} vs {meta.GetProperty("metric").GetDouble()}");
        }

        int compared = 0;
        foreach (var tensorName in reference.Names)
        {
            string hook;
            Tensor? ours;
            if (tensorName.StartsWith("act.", StringComparison.Ordinal))
            {
                hook = tensorName[4..];
                ours = pass.Cache.TryGet(hook, out var a) ? a : null;
            }
            else if (tensorName.StartsWith("grad.", StringComparison.Ordinal))
            {
                hook = tensorName[5..];
                ours = back!.Gradients.TryGet(hook, out var g) ? g : null;
            }
            else continue;
            Assert.True(ours != null, $"{name}: the engine has no hook point '{hook}' that the reference has");
            var expected = reference.GetTensor(tensorName);
            Assert.Equal(expected.Length, ours!.Length);
            var actual = ours.Data;
            if (Intervention.IsAttentionHook(hook)) actual = actual.Select(v => float.IsNegativeInfinity(v) ? 0f : v).ToArray();
            double scale = Math.Max(expected.Max(Math.Abs), 1e-6);
            worstRatio = Math.Max(worstRatio, Compare($"{name} {tensorName}", actual, expected, scale));
            compared++;
        }
        Assert.True(compared >= (hasGrads ? 20 : 5), $"only {compared} tensors compared");

        if (hasGrads) compared += CompareGraddrop(name, engine, pass, reference);
        if (hasGrads) compared += CompareWeightGradients(name, model, back!, reference);
        _output.WriteLine($"{name}: {compared} tensors, worst max|err|/scale = {worstRatio:E2} (logit scale {logitScale:F3})");
    }

    private int CompareGraddrop(string name, Transformer engine, ForwardPass pass, SafeTensorsFile reference)
    {
        int compared = 0;
        var dl = new Tensor(reference.GetTensor("dlogits"), pass.Logits.Shape);
        foreach (var layer in reference.Names.Where(n => n.StartsWith("graddrop", StringComparison.Ordinal))
                     .Select(n => int.Parse(n["graddrop".Length..n.IndexOf('.')], System.Globalization.CultureInfo.InvariantCulture)).Distinct())
        {
            var grads = engine.Backward(pass, dl, new BackwardOptions { StopGradientAtLayerWrite = layer }).Gradients;
            string prefix = $"graddrop{layer}.grad.";
            foreach (var tensorName in reference.Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
            {
                var expected = reference.GetTensor(tensorName);
                double scale = Math.Max(expected.Max(Math.Abs), 1e-3);
                Compare($"{name} {tensorName}", grads[tensorName[prefix.Length..]].Data, expected, scale);
                compared++;
            }
        }
        Assert.True(name is not ("gpt2" or "llama") || compared > 0, "GradDrop references expected for gpt2 and llama");
        return compared;
    }

    /// <summary>Weight gradients, mapped from the engine's [in,out] layout to the reference's file layout.</summary>
    private static int CompareWeightGradients(string name, LoadedModel model, BackwardPass back, SafeTensorsFile reference)
    {
        var c = model.Config;
        var wg = back.WeightGradients!;
        int compared = 0;
        void Check(string refName, float[] ours)
        {
            if (!reference.Contains("wgrad." + refName)) return;
            var expected = reference.GetTensor("wgrad." + refName);
            Assert.Equal(expected.Length, ours.Length);
            Compare($"{name} wgrad.{refName}", ours, expected, Math.Max(expected.Max(Math.Abs), 1e-3));
            compared++;
        }
        float[] T(float[] m, int rows, int cols)
        {
            var r = new float[m.Length];
            for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) r[j * rows + i] = m[i * cols + j];
            return r;
        }
        int d = c.DModel, hd = c.NHeads * c.DHead, kvd = c.NKvHeads * c.DHead;
        for (int l = 0; l < c.NLayers; l++)
        {
            string p = $"blocks.{l}.";
            switch (name)
            {
                case "gpt2":
                {
                    string h = $"transformer.h.{l}.";
                    var qkv = new float[d * 3 * hd];
                    for (int i = 0; i < d; i++)
                    {
                        Array.Copy(wg[p + "attn.W_Q"], i * hd, qkv, i * 3 * hd, hd);
                        Array.Copy(wg[p + "attn.W_K"], i * hd, qkv, i * 3 * hd + hd, hd);
                        Array.Copy(wg[p + "attn.W_V"], i * hd, qkv, i * 3 * hd + 2 * hd, hd);
                    }
                    Check(h + "attn.c_attn.weight", qkv);
                    Check(h + "attn.c_attn.bias", wg[p + "attn.b_Q"].Concat(wg[p + "attn.b_K"]).Concat(wg[p + "attn.b_V"]).ToArray());
                    Check(h + "attn.c_proj.weight", wg[p + "attn.W_O"]);
                    Check(h + "mlp.c_fc.weight", wg[p + "mlp.W_in"]);
                    Check(h + "mlp.c_proj.weight", wg[p + "mlp.W_out"]);
                    Check(h + "ln_1.weight", wg[p + "ln1.w"]);
                    Check(h + "ln_2.bias", wg[p + "ln2.b"]);
                    break;
                }
                case "llama":
                {
                    string h = $"model.layers.{l}.";
                    Check(h + "self_attn.q_proj.weight", T(wg[p + "attn.W_Q"], d, hd));
                    Check(h + "self_attn.k_proj.weight", T(wg[p + "attn.W_K"], d, kvd));
                    Check(h + "self_attn.v_proj.weight", T(wg[p + "attn.W_V"], d, kvd));
                    Check(h + "self_attn.o_proj.weight", T(wg[p + "attn.W_O"], hd, d));
                    Check(h + "mlp.gate_proj.weight", T(wg[p + "mlp.W_gate"], d, c.DMlp));
                    Check(h + "mlp.up_proj.weight", T(wg[p + "mlp.W_in"], d, c.DMlp));
                    Check(h + "mlp.down_proj.weight", T(wg[p + "mlp.W_out"], c.DMlp, d));
                    Check(h + "input_layernorm.weight", wg[p + "ln1.w"]);
                    break;
                }
                case "gpt_neox":
                {
                    string h = $"gpt_neox.layers.{l}.";
                    Check(h + "attention.dense.weight", T(wg[p + "attn.W_O"], hd, d));
                    Check(h + "mlp.dense_h_to_4h.weight", T(wg[p + "mlp.W_in"], d, c.DMlp));
                    Check(h + "mlp.dense_4h_to_h.weight", T(wg[p + "mlp.W_out"], c.DMlp, d));
                    Check(h + "post_attention_layernorm.bias", wg[p + "ln2.b"]);
                    break;
                }
            }
        }
        switch (name)
        {
            case "gpt2":
                Check("transformer.wte.weight", wg["embed.W_E"]);
                Check("transformer.wpe.weight", wg["pos_embed.W_pos"]);
                Check("transformer.ln_f.weight", wg["ln_final.w"]);
                break;
            case "llama":
                Check("model.embed_tokens.weight", wg["embed.W_E"]);
                Check("lm_head.weight", wg["unembed.W_U"]);
                Check("model.norm.weight", wg["ln_final.w"]);
                break;
            case "gpt_neox":
                Check("embed_out.weight", wg["unembed.W_U"]);
                Check("gpt_neox.embed_in.weight", wg["embed.W_E"]);
                break;
            case "stories260K":
                Check("rms_final_weight", wg["ln_final.w"]);
                var att = Enumerable.Range(0, c.NLayers).SelectMany(l => wg[$"blocks.{l}.ln1.w"]).ToArray();
                Check("rms_att_weight", att);
                Check("rms_ffn_weight", Enumerable.Range(0, c.NLayers).SelectMany(l => wg[$"blocks.{l}.ln2.w"]).ToArray());
                break;
        }
        bool any = reference.Names.Any(n => n.StartsWith("wgrad.", StringComparison.Ordinal));
        Assert.True(!any || compared >= 3, $"{name}: only {compared} weight gradients compared");
        return compared;
    }

    private static double Compare(string what, float[] actual, float[] expected, double scale)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int worstAt = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - (double)expected[i]);
            if (double.IsNaN(err)) { worst = double.PositiveInfinity; worstAt = i; break; }
            if (err > worst) { worst = err; worstAt = i; }
        }
        double ratio = worst / scale;
        Assert.True(ratio <= 1e-4, $"{what}: max |error| {worst:E3} at {worstAt} (ours {actual[worstAt]}, reference {expected[worstAt]}) is {ratio:E2} of the scale {scale:E3}; allowed 1e-4");
        return ratio;
    }
}
