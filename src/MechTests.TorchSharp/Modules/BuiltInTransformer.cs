using MechTests.Hooks;
using MechTests.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MechTests.TorchSharp.Modules;

/// <summary>
/// GPT-2, GPT-NeoX/Pythia, Llama (grouped-query attention) and llama2.c transformers as a TorchSharp module, built
/// from the weights the MechTests loaders read, with a <see cref="HookPoint"/> at every hook point the managed engine
/// has — the same mechanism a user's own model uses. The numbers equal the managed engine's within float rounding.
/// </summary>
/// <example><code>
/// var model = ModelLoader.Load("models/stories260K/stories260K.bin");
/// using var module = new BuiltInTransformer(model.Config, model.Weights, torch.CPU, torch.float32);
/// using var logits = module.forward(torch.tensor(new long[] { 1, 403, 407 }).unsqueeze(0));
/// </code></example>
public sealed class BuiltInTransformer : HookedTransformer
{
    private readonly Parameter _embed, _unembed, _lnFW;
    private readonly Parameter? _pos, _lnFB, _unembedB;
    private readonly ModuleList<Block> _blocks;
    private readonly Dictionary<string, HookPoint> _hooks = new(StringComparer.Ordinal);
    private readonly HookPoint _hEmbed, _hPos, _hLnF, _hLogits;
    private readonly Tensor? _cos, _sin;
    // Scalars live as long as the module: a temporary Scalar (from an implicit double → Scalar conversion) can be
    // finalised while libtorch still reads it, which shows up after many passes as "Unknown scalar type" or a failed
    // toFloat check.
    private readonly Scalar _eps, _half, _one, _geluC, _geluK, _negInf;

    /// <summary>Builds the module from canonical weights (copied to <paramref name="device"/> in <paramref name="dtype"/>).</summary>
    public BuiltInTransformer(ModelConfig config, ModelWeights weights, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base("mechtests_transformer", config)
    {
        device ??= CPU;
        Device = device;
        DType = dtype;
        _eps = config.NormEps.ToScalar();
        _half = 0.5.ToScalar();
        _one = 1.0.ToScalar();
        _geluC = Math.Sqrt(2.0 / Math.PI).ToScalar();
        _geluK = 0.044715.ToScalar();
        _negInf = float.NegativeInfinity.ToScalar();
        int d = config.DModel;
        // No requires_grad: a recorded pass then differentiates at its hook points only, and autograd does not keep each
        // projection's input for a weight gradient nobody asked for. The backend switches it on (WeightsRequireGrad)
        // for the one pass it re-runs when BackwardOptions.WeightGradients asks for them.
        Parameter P(float[] data, params long[] shape) => new(tensor(data, shape, ScalarType.Float32).to(dtype, device), requires_grad: false);
        _embed = P(weights.TokenEmbed, config.VocabSize, d);
        _unembed = ReferenceEquals(weights.Unembed, weights.TokenEmbed) ? _embed : P(weights.Unembed, config.VocabSize, d);
        _pos = weights.PosEmbed is { } pe ? P(pe, config.MaxPositions, d) : null;
        _lnFW = P(weights.LnFinalWeight, d);
        _lnFB = weights.LnFinalBias is { } lb ? P(lb, d) : null;
        _unembedB = weights.UnembedBias is { } ub ? P(ub, config.VocabSize) : null;
        _hEmbed = Hook(HookNames.Embed);
        _hPos = Hook(HookNames.PosEmbed);
        _hLnF = Hook(HookNames.LnFinal);
        _hLogits = Hook(HookNames.Logits);
        if (config.Rotary != RotaryStyle.None)
        {
            int half = config.RotaryDims / 2;
            var cos = new float[config.MaxPositions * half];
            var sin = new float[config.MaxPositions * half];
            for (int p = 0; p < config.MaxPositions; p++)
            for (int i = 0; i < half; i++)
            {
                double angle = p / Math.Pow(config.RotaryBase, 2.0 * i / config.RotaryDims);
                cos[p * half + i] = (float)Math.Cos(angle);
                sin[p * half + i] = (float)Math.Sin(angle);
            }
            _cos = tensor(cos, new long[] { config.MaxPositions, half }).to(dtype, device);
            _sin = tensor(sin, new long[] { config.MaxPositions, half }).to(dtype, device);
        }
        _blocks = new ModuleList<Block>(Enumerable.Range(0, config.NLayers).Select(l => new Block(this, l, weights.Layers[l], P)).ToArray());
        RegisterComponents();
        foreach (var (name, hp) in _hooks) register_module(HookPoint.ModuleName(name), hp);
    }

    /// <summary>Where the weights live.</summary>
    public Device Device { get; }

    /// <summary>The weights' element type (float32, or bfloat16/float16 where the device supports it).</summary>
    public ScalarType DType { get; }

    /// <inheritdoc />
    public override bool SupportsSplitQkvInput => true;

    private HookPoint Hook(string name)
    {
        var hp = new HookPoint(name);
        _hooks[name] = hp;
        return hp;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor tokens)
    {
        long b = tokens.shape[0], t = tokens.shape[1];
        var embed = _hEmbed.forward(_embed.index_select(0, tokens.reshape(-1)).view(b, t, Config.DModel));
        var resid = embed;
        if (_pos is not null)
        {
            var pos = _hPos.forward(_pos.narrow(0, 0, t).unsqueeze(0).expand(b, t, Config.DModel));
            resid = embed.Plus(pos);
        }
        return Run(0, resid);
    }

    /// <inheritdoc />
    public override Tensor? ForwardFrom(int layer, Tensor residPre) => Run(layer, residPre);

    private Tensor Run(int start, Tensor resid)
    {
        for (int l = start; l < Config.NLayers; l++) resid = _blocks[l].forward(resid);
        var ln = _hLnF.forward(Norm(resid, _lnFW, _lnFB));
        var logits = ln.matmul(_unembed.t());
        if (_unembedB is not null) logits = logits.Plus(_unembedB);
        return _hLogits.forward(logits);
    }

    internal Tensor Norm(Tensor x, Tensor w, Tensor? bias)
    {
        if (Config.Norm == NormKind.LayerNorm)
            return F.layer_norm(x, new long[] { x.shape[^1] }, w, bias, Config.NormEps);
        var rms = (x * x).mean(new long[] { -1 }, keepdim: true).add(_eps).rsqrt();
        return x * rms * w;
    }

    /// <summary>Rotary on [b,p,heads,dh] (the first RotaryDims dims of each head).</summary>
    internal Tensor Rotate(Tensor x)
    {
        if (Config.Rotary == RotaryStyle.None) return x;
        long t = x.shape[1], dh = x.shape[3];
        int r = Config.RotaryDims, half = r / 2;
        var cos = _cos!.narrow(0, 0, t).view(1, t, 1, half);
        var sin = _sin!.narrow(0, 0, t).view(1, t, 1, half);
        var rot = x.narrow(3, 0, r);
        Tensor a, c;
        if (Config.Rotary == RotaryStyle.RotateHalf)
        {
            a = rot.narrow(3, 0, half);
            c = rot.narrow(3, half, half);
            var outRot = cat(new[] { (a * cos).Minus(c * sin), (c * cos).Plus(a * sin) }, 3);
            return r == dh ? outRot : cat(new[] { outRot, x.narrow(3, r, dh - r) }, 3);
        }
        var pairs = rot.reshape(x.shape[0], t, x.shape[2], half, 2);
        a = pairs.select(4, 0);
        c = pairs.select(4, 1);
        var rotated = stack(new[] { (a * cos).Minus(c * sin), (c * cos).Plus(a * sin) }, 4).reshape(x.shape[0], t, x.shape[2], r);
        return r == dh ? rotated : cat(new[] { rotated, x.narrow(3, r, dh - r) }, 3);
    }

    internal Tensor Activation(Tensor x) => Config.Activation switch
    {
        ActivationKind.GeluTanh => x.mul(_half).mul(tanh(x.add(x.mul(x).mul(x).mul(_geluK)).mul(_geluC)).add(_one)),
        ActivationKind.GeluErf => F.gelu(x),
        _ => F.silu(x),
    };

    /// <summary>
    /// What query head <paramref name="head"/>'s q (or k) port computes from residual inputs [b,p,d]: ln1, the head's
    /// projection (its kv group's for keys), rotary. Returns [b,p,dh].
    /// </summary>
    public Tensor ProjectHeadInput(int layer, int head, bool key, Tensor residInput) => _blocks[layer].Project(head, key, residInput);

    /// <summary>One block: its weights and hook points.</summary>
    private sealed class Block : nn.Module<Tensor, Tensor>
    {
        private readonly BuiltInTransformer _m;
        private readonly int _l;
        private readonly Parameter _ln1W, _ln2W, _wq, _wk, _wv, _wo, _wIn, _wOut;
        private readonly Parameter? _ln1B, _ln2B, _bq, _bk, _bv, _bo, _bIn, _wGate, _bOut;
        private readonly Scalar _scale;
        private readonly HookPoint _residPre, _qIn, _kIn, _vIn, _ln1, _q, _k, _v, _rotQ, _rotK, _scores, _pattern, _z, _result,
            _attnOut, _residMid, _mlpIn, _ln2, _pre, _preLin, _post, _mlpOut, _residPost;

        public Block(BuiltInTransformer m, int l, LayerWeights w, Func<float[], long[], Parameter> p) : base($"block{l}")
        {
            _m = m;
            _l = l;
            var c = m.Config;
            long d = c.DModel, h = c.NHeads, kv = c.NKvHeads, dh = c.DHead, mm = c.DMlp;
            Parameter? O(float[]? a, params long[] s) => a == null ? null : p(a, s);
            _ln1W = p(w.Ln1Weight, new[] { d }); _ln1B = O(w.Ln1Bias, d);
            _ln2W = p(w.Ln2Weight, new[] { d }); _ln2B = O(w.Ln2Bias, d);
            _wq = p(w.Wq, new[] { d, h * dh }); _bq = O(w.Bq, h * dh);
            _wk = p(w.Wk, new[] { d, kv * dh }); _bk = O(w.Bk, kv * dh);
            _wv = p(w.Wv, new[] { d, kv * dh }); _bv = O(w.Bv, kv * dh);
            _wo = p(w.Wo, new[] { h * dh, d }); _bo = O(w.Bo, d);
            _wIn = p(w.WIn, new[] { d, mm }); _bIn = O(w.BIn, mm);
            _wGate = O(w.WGate, d, mm);
            _wOut = p(w.WOut, new[] { mm, d }); _bOut = O(w.BOut, d);
            _residPre = m.Hook(HookNames.ResidPre(l));
            _qIn = m.Hook(HookNames.QInput(l)); _kIn = m.Hook(HookNames.KInput(l)); _vIn = m.Hook(HookNames.VInput(l));
            _ln1 = m.Hook(HookNames.Ln1(l));
            _q = m.Hook(HookNames.Q(l)); _k = m.Hook(HookNames.K(l)); _v = m.Hook(HookNames.V(l));
            _rotQ = m.Hook(HookNames.RotQ(l)); _rotK = m.Hook(HookNames.RotK(l));
            _scores = m.Hook(HookNames.AttnScores(l)); _pattern = m.Hook(HookNames.Pattern(l));
            _z = m.Hook(HookNames.Z(l)); _result = m.Hook(HookNames.Result(l)); _attnOut = m.Hook(HookNames.AttnOut(l));
            _residMid = m.Hook(HookNames.ResidMid(l)); _mlpIn = m.Hook(HookNames.MlpIn(l)); _ln2 = m.Hook(HookNames.Ln2(l));
            _pre = m.Hook(HookNames.MlpPre(l)); _preLin = m.Hook(HookNames.MlpPreLinear(l)); _post = m.Hook(HookNames.MlpPost(l));
            _mlpOut = m.Hook(HookNames.MlpOut(l)); _residPost = m.Hook(HookNames.ResidPost(l));
            _scale = (1.0 / Math.Sqrt(c.DHead)).ToScalar();
            RegisterComponents();
        }

        private ModelConfig C => _m.Config;

        // Per-head projection weights [H, d, dh]; keys and values repeat their kv group's columns per query head.
        private Tensor HeadWeights(Tensor w, bool grouped) =>
            grouped ? w.view(C.DModel, C.NKvHeads, C.DHead).repeat_interleave(C.GroupSize, 1).permute(1, 0, 2)
                    : w.view(C.DModel, C.NHeads, C.DHead).permute(1, 0, 2);

        private Tensor? HeadBias(Tensor? bias, bool grouped) =>
            bias is null ? null : grouped ? bias.view(C.NKvHeads, C.DHead).repeat_interleave(C.GroupSize, 0) : bias.view(C.NHeads, C.DHead);

        private Tensor Ungroup(Tensor x) => C.GroupSize == 1 ? x : x.repeat_interleave(C.GroupSize, 2);

        public override Tensor forward(Tensor residIn)
        {
            long b = residIn.shape[0], t = residIn.shape[1];
            int H = C.NHeads, Hkv = C.NKvHeads, Dh = C.DHead, D = C.DModel;
            var residPre = _residPre.forward(residIn);
            Tensor q, kU, vU;
            if (!_m.SplitQkvInput)
            {
                var ln1 = _ln1.forward(_m.Norm(residPre, _ln1W, _ln1B));
                q = Bias(ln1.matmul(_wq), _bq).view(b, t, H, Dh);
                var k = Bias(ln1.matmul(_wk), _bk).view(b, t, Hkv, Dh);
                var v = Bias(ln1.matmul(_wv), _bv).view(b, t, Hkv, Dh);
                q = _q.forward(q);
                k = _k.forward(k);
                v = _v.forward(v);
                if (C.Rotary != RotaryStyle.None)
                {
                    q = _rotQ.forward(_m.Rotate(q));
                    k = _rotK.forward(_m.Rotate(k));
                }
                kU = Ungroup(k);
                vU = Ungroup(v);
            }
            else
            {
                var expanded = residPre.unsqueeze(2).expand(b, t, H, D);
                var qIn = _qIn.forward(expanded);
                var kIn = _kIn.forward(expanded);
                var vIn = _vIn.forward(expanded);
                // ln1 as the managed engine shows it in split mode: the first head's query copy, a probe whose
                // gradient is the sum over every (port, head) copy and whose changes do not feed the heads.
                var ln1Probe = _ln1.forward(_m.Norm(qIn.select(2, 0), _ln1W, _ln1B).detach());
                var tap = ln1Probe.Minus(ln1Probe.detach()).unsqueeze(2);
                Tensor Port(Tensor input, Tensor w, Tensor? bias, bool grouped)
                {
                    var y = einsum("bphd,hde->bphe", _m.Norm(input, _ln1W, _ln1B).Plus(tap), HeadWeights(w, grouped));
                    return HeadBias(bias, grouped) is { } hb ? y.Plus(hb) : y;
                }
                q = _q.forward(Port(qIn, _wq, _bq, false));
                kU = Port(kIn, _wk, _bk, true);
                vU = Port(vIn, _wv, _bv, true);
                kU = GroupView(_k, kU);
                vU = GroupView(_v, vU);
                if (C.Rotary != RotaryStyle.None)
                {
                    q = _rotQ.forward(_m.Rotate(q));
                    kU = GroupView(_rotK, _m.Rotate(kU));
                }
            }

            // Attention: [b,H,p,dh].
            var qh = q.permute(0, 2, 1, 3);
            var kh = kU.permute(0, 2, 1, 3);
            var vh = vU.permute(0, 2, 1, 3);
            var mask = ones(t, t, dtype: ScalarType.Bool, device: residIn.device).triu(1);
            var scores = _scores.forward(qh.matmul(kh.transpose(2, 3)).mul(_scale).masked_fill(mask, _m._negInf));
            var pattern = _pattern.forward(scores.softmax(-1));
            var z = _z.forward(pattern.matmul(vh).permute(0, 2, 1, 3));
            Tensor attnOut;
            if (Materialise(HookNames.Result(_l)))
            {
                var result = _result.forward(einsum("bphe,hed->bphd", z, _wo.view(H, Dh, D)));
                attnOut = result.sum(2);
            }
            else attnOut = z.reshape(b, t, H * Dh).matmul(_wo);
            attnOut = _attnOut.forward(Bias(attnOut, _bo));

            Tensor mlpIn, residMid = residPre;
            if (!C.ParallelAttnMlp)
            {
                residMid = _residMid.forward(residPre.Plus(attnOut));
                mlpIn = residMid;
            }
            else mlpIn = residPre;
            // A separate node, so its gradient is the MLP's alone (resid_mid's also has the skip path).
            mlpIn = _mlpIn.forward(mlpIn.view_as(mlpIn));
            var ln2 = _ln2.forward(_m.Norm(mlpIn, _ln2W, _ln2B));
            Tensor post;
            if (C.GatedMlp)
            {
                var pre = _pre.forward(ln2.matmul(_wGate!));
                var lin = _preLin.forward(Bias(ln2.matmul(_wIn), _bIn));
                post = _post.forward(_m.Activation(pre) * lin);
            }
            else
            {
                var pre = _pre.forward(Bias(ln2.matmul(_wIn), _bIn));
                post = _post.forward(_m.Activation(pre));
            }
            var mlpOut = _mlpOut.forward(Bias(post.matmul(_wOut), _bOut));
            var residPost = C.ParallelAttnMlp ? residPre.Plus(attnOut).Plus(mlpOut) : residMid.Plus(mlpOut);
            return _residPost.forward(residPost);
        }

        private static Tensor Bias(Tensor x, Tensor? bias) => bias is null ? x : x.Plus(bias);

        private bool Materialise(string hookName) => _m.Materialise?.Invoke(hookName) ?? true;

        /// <summary>
        /// In split mode keys/values are per query head; the hook shows [b,p,Hkv,dh] (each group's first head). Its
        /// gradient is the sum over the group; a change to it is written to every head of the group.
        /// </summary>
        private Tensor GroupView(HookPoint hook, Tensor perHead)
        {
            int g = C.GroupSize;
            if (!Materialise(hook.HookName)) return perHead;
            var heads = tensor(Enumerable.Range(0, C.NKvHeads).Select(i => (long)i * g).ToArray(), device: perHead.device);
            var view = perHead.detach().index_select(2, heads);
            var seen = hook.forward(view);
            var tap = seen.Minus(seen.detach());
            bool changed = _m.Changes?.Invoke(hook.HookName) ?? false;
            var spread = g == 1 ? seen : seen.repeat_interleave(g, 2);
            var tapSpread = g == 1 ? tap : tap.repeat_interleave(g, 2);
            // Value: the hooked view when changed, else the heads' own; gradient: each head its own, plus the view's tap.
            return changed ? perHead.Plus(spread.Minus(perHead).detach()).Plus(tapSpread) : perHead.Plus(tapSpread);
        }

        /// <summary>The block's weights under <see cref="LayerWeights.Named"/>'s names, in the same order.</summary>
        public IEnumerable<(string Name, Tensor Weight)> NamedWeights()
        {
            yield return ("ln1.w", _ln1W);
            if (_ln1B is not null) yield return ("ln1.b", _ln1B);
            yield return ("ln2.w", _ln2W);
            if (_ln2B is not null) yield return ("ln2.b", _ln2B);
            yield return ("attn.W_Q", _wq);
            if (_bq is not null) yield return ("attn.b_Q", _bq);
            yield return ("attn.W_K", _wk);
            if (_bk is not null) yield return ("attn.b_K", _bk);
            yield return ("attn.W_V", _wv);
            if (_bv is not null) yield return ("attn.b_V", _bv);
            yield return ("attn.W_O", _wo);
            if (_bo is not null) yield return ("attn.b_O", _bo);
            yield return ("mlp.W_in", _wIn);
            if (_bIn is not null) yield return ("mlp.b_in", _bIn);
            if (_wGate is not null) yield return ("mlp.W_gate", _wGate);
            yield return ("mlp.W_out", _wOut);
            if (_bOut is not null) yield return ("mlp.b_out", _bOut);
        }

        internal Tensor Project(int head, bool key, Tensor residInput)
        {
            var ln = _m.Norm(residInput, _ln1W, _ln1B);
            int src = key ? head / C.GroupSize : head;
            var w = (key ? _wk : _wq).narrow(1, (long)src * C.DHead, C.DHead);
            var y = ln.matmul(w);
            var bias = key ? _bk : _bq;
            if (bias is not null) y = y.Plus(bias.narrow(0, (long)src * C.DHead, C.DHead));
            return _m.Rotate(y.unsqueeze(2)).squeeze(2);
        }
    }

    /// <summary>
    /// The weights under the names of <see cref="ModelWeights.Named"/> (<c>embed.W_E</c>, <c>blocks.0.attn.W_Q</c>, …),
    /// each in the canonical layout, so their gradients are the managed engine's weight gradients. A tied unembedding
    /// is <c>embed.W_E</c> (one tensor, one gradient), as there.
    /// </summary>
    internal IEnumerable<(string Name, Tensor Weight)> NamedWeights()
    {
        yield return ("embed.W_E", _embed);
        if (_pos is not null) yield return ("pos_embed.W_pos", _pos);
        for (int l = 0; l < Config.NLayers; l++)
            foreach (var (name, w) in _blocks[l].NamedWeights())
                yield return ($"blocks.{l}.{name}", w);
        yield return ("ln_final.w", _lnFW);
        if (_lnFB is not null) yield return ("ln_final.b", _lnFB);
        if (!ReferenceEquals(_unembed, _embed)) yield return ("unembed.W_U", _unembed);
        if (_unembedB is not null) yield return ("unembed.b_U", _unembedB);
    }

    /// <summary>
    /// Set by the backend around the pass it re-runs for weight gradients: whether every weight is a leaf autograd
    /// differentiates at. Off otherwise, so recorded passes keep nothing for weight gradients.
    /// </summary>
    internal bool WeightsRequireGrad
    {
        get => _embed.requires_grad;
        set
        {
            foreach (var (_, w) in NamedWeights()) w.requires_grad = value;
        }
    }

    /// <summary>Set by the backend: whether a hook point must be computed (cached, changed or recorded).</summary>
    internal Func<string, bool>? Materialise { get; set; }

    /// <summary>Set by the backend: whether a run changes a hook point.</summary>
    internal Func<string, bool>? Changes { get; set; }
}
