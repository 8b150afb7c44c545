using System.Globalization;
using System.Text.Json;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MechTests.Examples.TorchSharp;

/// <summary>
/// A small GPT-2 written the way a TorchSharp user writes one: <c>nn.Embedding</c>, <c>nn.LayerNorm</c>,
/// <c>nn.Linear</c> (a fused q|k|v projection, as GPT-2's <c>c_attn</c>), GELU, tied unembedding — plus a
/// <see cref="HookPoint"/> at each activation MechTests measures. Submodules carry GPT-2's names (<c>wte</c>,
/// <c>h.0.attn.c_attn</c>, …), so <see cref="SaveHuggingFace"/> is a rename and a transpose, and the saved folder is
/// what the CLI, the managed engine and any GPT-2 loader read.
/// </summary>
/// <remarks>
/// Outside a MechTests run every HookPoint returns its input, so training with <c>torch.optim</c> is ordinary
/// TorchSharp. <see cref="HookedTransformer.SplitQkvInput"/> (edge-level measurement) feeds each head's q, k and v
/// from its own copy of the residual stream; the numbers are the same, only the graph is finer.
/// </remarks>
public sealed class TinyGpt : HookedTransformer
{
    private readonly Embedding wte, wpe;
    private readonly ModuleList<Block> h;
    private readonly LayerNorm ln_f;
    private readonly HookPoint hook_embed = new(HookNames.Embed), hook_pos_embed = new(HookNames.PosEmbed), hook_logits = new(HookNames.Logits);

    /// <summary>A freshly initialised model of shape <paramref name="config"/> (GPT-2: LayerNorm, learned positions, GELU, tied embeddings).</summary>
    public TinyGpt(ModelConfig config) : base("tiny_gpt", config)
    {
        wte = nn.Embedding(config.VocabSize, config.DModel);
        wpe = nn.Embedding(config.MaxPositions, config.DModel);
        h = new ModuleList<Block>(Enumerable.Range(0, config.NLayers).Select(l => new Block(this, l)).ToArray());
        ln_f = nn.LayerNorm(config.DModel, eps: Eps(config));
        RegisterComponents();
        // GPT-2's initialisation scale: N(0, 0.02) for embeddings and projections.
        using (no_grad())
        {
            foreach (var (name, p) in named_parameters())
                if (name.EndsWith(".weight", StringComparison.Ordinal) && p.dim() == 2) nn.init.normal_(p, 0, 0.02);
        }
    }

    /// <summary>The GPT-2 shape with the given sizes (BOS = EOS = token 0, GELU with erf, LayerNorm ε 1e-5).</summary>
    public static ModelConfig Shape(int vocab, int dModel, int layers, int heads, int positions) => new()
    {
        Architecture = Architecture.Gpt2, DModel = dModel, NLayers = layers, NHeads = heads, NKvHeads = heads, DHead = dModel / heads,
        DMlp = 4 * dModel, VocabSize = vocab, MaxPositions = positions, Norm = NormKind.LayerNorm, NormEps = 1e-5f,
        Activation = ActivationKind.GeluErf, Rotary = RotaryStyle.None, LearnedPositions = true, TiedEmbeddings = true,
        QkvBias = true, AttnOutBias = true, MlpBias = true, BosTokenId = 0, EosTokenId = 0,
    };

    /// <inheritdoc />
    public override bool SupportsSplitQkvInput => true;

    /// <summary>tokens [b,p] (int64) → logits [b,p,V].</summary>
    public override Tensor forward(Tensor tokens)
    {
        long b = tokens.shape[0], p = tokens.shape[1];
        var positions = wpe.forward(arange(p, device: tokens.device)).unsqueeze(0).expand(b, p, Config.DModel);   // [b,p,d], as docs/hook-points.md
        var resid = hook_embed.forward(wte.forward(tokens)).Plus(hook_pos_embed.forward(positions));
        return Unembed(Blocks(0, resid));
    }

    /// <inheritdoc />
    public override Tensor? ForwardFrom(int layer, Tensor residPre) => Unembed(Blocks(layer, residPre));

    private Tensor Blocks(int from, Tensor resid)
    {
        for (int l = from; l < h.Count; l++) resid = h[l].forward(resid);
        return resid;
    }

    private Tensor Unembed(Tensor resid) => hook_logits.forward(ln_f.forward(resid).matmul(wte.weight!.t()));

    /// <summary>
    /// Writes <c>config.json</c> and <c>model.safetensors</c> in Hugging Face's GPT-2 layout (Conv1D weights are
    /// [in, out], so every <c>nn.Linear</c> weight is transposed). Bytes depend only on the weights and the config.
    /// </summary>
    public void SaveHuggingFace(string folder)
    {
        Directory.CreateDirectory(folder);
        var writer = new SafeTensorsWriter().SetMetadata("format", "pt");
        foreach (var (name, p) in named_parameters())
        {
            // Each parameter's host copy (detach, cpu, transpose, contiguous) is freed here, not by the finaliser.
            using var scope = NewDisposeScope();
            var t = p.detach().cpu();
            if (IsLinearWeight(name)) t = t.t();
            t = t.contiguous();
            writer.Add("transformer." + name, t.data<float>().ToArray(), t.shape.Select(s => (int)s).ToArray());
        }
        writer.Write(Path.Combine(folder, "model.safetensors"));
        var c = Config;
        var config = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["activation_function"] = "gelu", ["architectures"] = new[] { "GPT2LMHeadModel" },
            ["layer_norm_epsilon"] = Eps(c), ["model_type"] = "gpt2", ["n_embd"] = c.DModel, ["n_head"] = c.NHeads, ["n_inner"] = c.DMlp,
            ["n_layer"] = c.NLayers, ["n_positions"] = c.MaxPositions, ["tie_word_embeddings"] = true, ["vocab_size"] = c.VocabSize,
        };
        if (c.BosTokenId is int bos) config["bos_token_id"] = bos;
        if (c.EosTokenId is int eos) config["eos_token_id"] = eos;
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads what <see cref="SaveHuggingFace"/> wrote (or any GPT-2 checkpoint of this shape) into a new model.</summary>
    public static TinyGpt LoadHuggingFace(string folder)
    {
        var model = new TinyGpt(HuggingFaceLoader.ReadConfig(Path.Combine(folder, "config.json")));
        try
        {
            using var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors"));
            using (no_grad())
            {
                foreach (var (name, p) in model.named_parameters())
                {
                    // The uploaded tensor and its transpose are freed per parameter.
                    using var scope = NewDisposeScope();
                    var info = file.Info("transformer." + name);
                    var t = tensor(file.GetTensor(info.Name), info.Shape.Select(s => (long)s).ToArray());
                    if (IsLinearWeight(name)) t = t.t();
                    if (!t.shape.SequenceEqual(p.shape))
                        throw new InvalidDataException($"{folder}: tensor 'transformer.{name}' has shape [{string.Join(", ", t.shape)}]; the model expects [{string.Join(", ", p.shape)}].");
                    p.copy_(t);
                }
            }
            return model;
        }
        catch
        {
            // A missing tensor or a wrong shape: the half-loaded model is freed, not left to the finaliser.
            model.Dispose();
            throw;
        }
    }

    /// <summary>The SHA-256 MechTests records for the saved weights (that of <c>model.safetensors</c>, as <see cref="ModelLoader"/> computes it).</summary>
    public static string WeightsSha256(string folder) => ModelLoader.Sha256Hex(new[] { Path.Combine(folder, "model.safetensors") });

    // The config's float ε as the decimal it was written as (1e-5f → 1e-5, not 9.99999974737875E-06).
    private static double Eps(ModelConfig c) => (double)(decimal)c.NormEps;

    private static bool IsLinearWeight(string name) =>
        name.EndsWith("c_attn.weight", StringComparison.Ordinal) || name.EndsWith("c_proj.weight", StringComparison.Ordinal) || name.EndsWith("c_fc.weight", StringComparison.Ordinal);

    /// <summary>One transformer block: pre-norm attention and MLP, each added to the residual stream.</summary>
    private sealed class Block : nn.Module<Tensor, Tensor>
    {
        private readonly Func<bool> split;   // not a module field: RegisterComponents would register the parent as a child
        private readonly LayerNorm ln_1, ln_2;
        private readonly Attention attn;
        private readonly Mlp mlp;
        private readonly HookPoint hook_resid_pre, hook_resid_mid, hook_mlp_in, hook_resid_post;

        public Block(TinyGpt model, int layer) : base(layer.ToString(CultureInfo.InvariantCulture))
        {
            split = () => model.SplitQkvInput;
            var c = model.Config;
            ln_1 = nn.LayerNorm(c.DModel, eps: Eps(c));
            attn = new Attention(c, layer);
            ln_2 = nn.LayerNorm(c.DModel, eps: Eps(c));
            mlp = new Mlp(c, layer);
            hook_resid_pre = new(HookNames.ResidPre(layer));
            hook_resid_mid = new(HookNames.ResidMid(layer));
            hook_mlp_in = new(HookNames.MlpIn(layer));
            hook_resid_post = new(HookNames.ResidPost(layer));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var residPre = hook_resid_pre.forward(x);
            var residMid = hook_resid_mid.forward(residPre.Plus(attn.Forward(residPre, ln_1, split())));
            var mlpIn = hook_mlp_in.forward(residMid);
            return hook_resid_post.forward(residMid.Plus(mlp.forward(ln_2.forward(mlpIn))));
        }
    }

    /// <summary>Causal multi-head attention with GPT-2's fused <c>c_attn</c> and output <c>c_proj</c>.</summary>
    private sealed class Attention : nn.Module
    {
        private readonly int heads, dHead, dModel;
        // Scalars kept for the module's life: a temporary one (from `x / 4.0`, or `a + b`'s alpha) can be finalised
        // while libtorch still reads it, which fails after many passes ("toFloat" checks). Hence also Plus (TensorMath).
        private readonly Scalar scale, minusInfinity;
        private readonly Linear c_attn, c_proj;
        private readonly HookPoint hook_q_input, hook_k_input, hook_v_input, hook_q, hook_k, hook_v, hook_pattern, hook_z, hook_result, hook_attn_out;

        public Attention(ModelConfig c, int layer) : base("attn")
        {
            heads = c.NHeads;
            dHead = c.DHead;
            dModel = c.DModel;
            scale = (1.0 / Math.Sqrt(dHead)).ToScalar();
            minusInfinity = float.NegativeInfinity.ToScalar();
            c_attn = nn.Linear(dModel, 3 * dModel);
            c_proj = nn.Linear(dModel, dModel);
            hook_q_input = new(HookNames.QInput(layer));
            hook_k_input = new(HookNames.KInput(layer));
            hook_v_input = new(HookNames.VInput(layer));
            hook_q = new(HookNames.Q(layer));
            hook_k = new(HookNames.K(layer));
            hook_v = new(HookNames.V(layer));
            hook_pattern = new(HookNames.Pattern(layer));
            hook_z = new(HookNames.Z(layer));
            hook_result = new(HookNames.Result(layer));
            hook_attn_out = new(HookNames.AttnOut(layer));
            RegisterComponents();
        }

        public Tensor Forward(Tensor residPre, LayerNorm ln1, bool split)
        {
            long b = residPre.shape[0], p = residPre.shape[1];
            Tensor q, k, v;
            if (!split)
            {
                var qkv = c_attn.forward(ln1.forward(residPre)).view(b, p, 3, heads, dHead);
                q = qkv.select(2, 0);
                k = qkv.select(2, 1);
                v = qkv.select(2, 2);
            }
            else
            {
                // Edge-level measurement: each head's q, k and v read their own copy of the residual stream.
                var copies = residPre.unsqueeze(2).expand(b, p, heads, dModel);
                q = Project(ln1.forward(hook_q_input.forward(copies)), 0);
                k = Project(ln1.forward(hook_k_input.forward(copies)), 1);
                v = Project(ln1.forward(hook_v_input.forward(copies)), 2);
            }
            q = hook_q.forward(q);
            k = hook_k.forward(k);
            v = hook_v.forward(v);
            var scores = q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)).mul(scale);               // [b,H,p,p]
            var future = ones(p, p, dtype: ScalarType.Bool, device: residPre.device).triu(1);
            var pattern = hook_pattern.forward(scores.masked_fill(future, minusInfinity).softmax(-1));
            var z = hook_z.forward(pattern.matmul(v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3));        // [b,p,H,dh]
            // Each head's write to the residual stream, [b,p,H,d]: z_h times its slice of c_proj.
            var result = hook_result.forward(einsum("bphe,ohe->bpho", z, c_proj.weight!.view(dModel, heads, dHead)));
            return hook_attn_out.forward(result.sum(2).Plus(c_proj.bias!));
        }

        /// <summary>The scalars are not modules, so the base class does not dispose them.</summary>
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                scale.Dispose();
                minusInfinity.Dispose();
            }
            base.Dispose(disposing);
        }

        /// <summary>Head h's slice of c_attn (part 0: q, 1: k, 2: v) applied to its own input [b,p,H,d] → [b,p,H,dh].</summary>
        private Tensor Project(Tensor input, int part)
        {
            var w = c_attn.weight!.narrow(0, part * dModel, dModel).view(heads, dHead, dModel);
            var bias = c_attn.bias!.narrow(0, part * dModel, dModel).view(heads, dHead);
            return einsum("bphd,hed->bphe", input, w).Plus(bias);
        }
    }

    /// <summary>GPT-2's MLP: <c>c_fc</c>, GELU, <c>c_proj</c>.</summary>
    private sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly Linear c_fc, c_proj;
        private readonly HookPoint hook_pre, hook_post, hook_mlp_out;

        public Mlp(ModelConfig c, int layer) : base("mlp")
        {
            c_fc = nn.Linear(c.DModel, c.DMlp);
            c_proj = nn.Linear(c.DMlp, c.DModel);
            hook_pre = new(HookNames.MlpPre(layer));
            hook_post = new(HookNames.MlpPost(layer));
            hook_mlp_out = new(HookNames.MlpOut(layer));
            RegisterComponents();
        }

        public override Tensor forward(Tensor ln2) =>
            hook_mlp_out.forward(c_proj.forward(hook_post.forward(nn.functional.gelu(hook_pre.forward(c_fc.forward(ln2))))));
    }
}
