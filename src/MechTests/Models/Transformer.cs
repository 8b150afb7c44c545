using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MechTests.Hooks;
using MechTests.Tensors;

namespace MechTests.Models;

/// <summary>
/// The managed transformer engine: one implementation for GPT-2, GPT-NeoX/Pythia and Llama (incl. llama2.c) driven by
/// <see cref="ModelConfig"/>, with every activation exposed as a named hook point (<see cref="HookNames"/>),
/// interventions, and exact analytic gradients at every hook point and weight.
/// </summary>
/// <example><code>
/// var model = ModelLoader.Load("models/stories260K/stories260K.bin");
/// var engine = new Transformer(model.Config, model.Weights);
/// var pass = engine.Run(new[] { new[] { 1, 403, 407 } }, RunOptions.Default);
/// float next = pass.Logits[0, 2, 261];
/// </code></example>
public sealed partial class Transformer : IModelBackend
{
    // Rotary tables for the positions runs have used so far, grown by doubling: built up front for the whole context
    // they cost 3.2 GB and 22 s for a config that states max_position_embeddings = 10^8 (docs/reliability.md).
    private volatile RotaryTable _rotary = new(0, [], []);
    private readonly object _rotaryGate = new();
    // Enough for a GPT-2-small batch of 20 × 15: its record (~170 MB), logits (60 MB) and gradients at every hook
    // point (~450 MB). Held for the engine's lifetime; what does not fit is left to the GC.
    private ScratchPool _pool = new(1L << 30);

    /// <summary>Creates an engine over weights held by reference (never copied).</summary>
    public Transformer(ModelConfig config, ModelWeights weights)
    {
        config.Validate("model config");
        Config = config;
        Weights = weights;
        CheckWeights();
    }

    private sealed record RotaryTable(int Positions, float[] Cos, float[] Sin);

    /// <summary>cos/sin tables covering at least <paramref name="positions"/> positions.</summary>
    private RotaryTable Rotary(int positions)
    {
        var table = _rotary;
        if (table.Positions >= positions) return table;
        lock (_rotaryGate)
        {
            table = _rotary;
            if (table.Positions >= positions) return table;
            int grown = (int)Math.Min(Config.MaxPositions, Math.Max(positions, Math.Max(64L, 2L * table.Positions)));
            var (cos, sin) = Ops.RotaryTables(grown, Config.RotaryDims, Config.RotaryBase);
            return _rotary = new RotaryTable(grown, cos, sin);
        }
    }

    /// <inheritdoc />
    public ModelConfig Config { get; }

    /// <summary>The weights (shared, not copied).</summary>
    public ModelWeights Weights { get; }

    /// <summary>Swaps the buffer pool (tests use one that pools small arrays too).</summary>
    internal void UseScratchPool(ScratchPool pool) => _pool = pool;

    private int D => Config.DModel;
    private int H => Config.NHeads;
    private int Hkv => Config.NKvHeads;
    private int Dh => Config.DHead;
    private int M => Config.DMlp;
    private int V => Config.VocabSize;

    /// <inheritdoc />
    public ForwardPass Run(IReadOnlyList<int[]> tokens, RunOptions options)
    {
        var (b, t) = Config.CheckTokens(tokens);
        int n = b * t;
        var hooks = new PassHooks(options, _pool);
        // Split q/k/v inputs only in the layers that need them: it costs 3·H norms per layer.
        var split = Enumerable.Range(0, Config.NLayers).Select(l => options.SplitQkvInput ||
            hooks.Active(HookNames.QInput(l)) || hooks.Active(HookNames.KInput(l)) || hooks.Active(HookNames.VInput(l))).ToArray();
        if (options.LastPositionLogitsOnly && options.RecordForBackward)
            throw new ArgumentException("RunOptions.LastPositionLogitsOnly cannot be combined with RecordForBackward.");
        int start = 0;
        if (options.ResumeFrom is { } resume)
        {
            if (options.RecordForBackward)
                throw new ArgumentException("RunOptions.ResumeFrom cannot be combined with RecordForBackward: the skipped layers have no record.");
            if (resume.Layer < 0 || resume.Layer >= Config.NLayers)
                throw new ArgumentException($"ResumeFrom.Layer = {resume.Layer}; the model has layers 0..{Config.NLayers - 1}.");
            if (resume.ResidPre.Rank != 3 || resume.ResidPre.Shape[0] != b || resume.ResidPre.Shape[1] != t || resume.ResidPre.Shape[2] != D)
                throw new ArgumentException($"ResumeFrom.ResidPre has shape {resume.ResidPre.ShapeText}; expected [{b}, {t}, {D}].");
            start = resume.Layer;
        }
        foreach (var name in hooks.InterventionHooks)
            if (!HookNameIsKnown(name))
                throw new ArgumentException($"Intervention at unknown hook point '{name}'. See HookNames for the naming scheme (e.g. '{HookNames.Result(0)}').");

        float[] resid = options.ResumeFrom != null ? Copy(options.ResumeFrom.ResidPre.Data) : Embed(tokens, b, t, hooks);

        bool record = options.RecordForBackward;
        var layers = record ? new LayerTape[Config.NLayers] : null;
        for (int l = start; l < Config.NLayers; l++)
        {
            var tape = Block(l, resid, b, t, split[l], record, hooks);
            _pool.Return(resid); // the block kept its own copy as resid_pre
            resid = tape.ResidPost;
            if (layers != null) layers[l] = tape.Tape;
        }

        var meanF = new float[n];
        var rstdF = new float[n];
        var lnF = _pool.Rent(n * D);
        Ops.NormForward(Config.Norm, resid, n, D, Weights.LnFinalWeight, Weights.LnFinalBias, Config.NormEps, lnF, meanF, rstdF);
        hooks.At(HookNames.LnFinal, -1, lnF, b, t, D);
        int tOut = options.LastPositionLogitsOnly ? 1 : t;
        var logits = _pool.Rent(b * tOut * V, clear: false); // the products below write every element
        if (options.LastPositionLogitsOnly)
        {
            // One product over the gathered rows: a product per row would stream the whole unembedding once per prompt.
            var last = _pool.Rent(b * D, clear: false);
            for (int i = 0; i < b; i++) Array.Copy(lnF, (i * t + t - 1) * D, last, i * D, D);
            Gemm.Multiply(last, D, false, Weights.Unembed, D, true, logits, V, b, V, D);
            _pool.Return(last);
        }
        else Gemm.Multiply(lnF, D, false, Weights.Unembed, D, true, logits, V, n, V, D);
        if (Weights.UnembedBias != null) Ops.AddBias(logits, b * tOut, V, Weights.UnembedBias);
        hooks.At(HookNames.Logits, -1, logits, b, tOut, V);
        if (!record) _pool.Return(resid, lnF);

        Tape? fullTape = layers == null ? null : new Tape
        {
            Tokens = tokens.Select(x => (int[])x.Clone()).ToArray(),
            Layers = layers,
            ResidFinal = resid,
            MeanF = meanF,
            RstdF = rstdF,
            LnF = lnF,
        };
        return new ForwardPass(new Tensor(logits, b, tOut, V), hooks.Cache, b, t, fullTape,
            () => _pool.Return((fullTape?.Buffers() ?? Array.Empty<float[]?>()).Append(logits).Concat(hooks.CachedBuffers).ToArray()));
    }

    private float[] Embed(IReadOnlyList<int[]> tokens, int b, int t, PassHooks hooks)
    {
        int n = b * t;
        var embed = _pool.Rent(n * D);
        for (int i = 0; i < n; i++)
            Array.Copy(Weights.TokenEmbed, tokens[i / t][i % t] * D, embed, i * D, D);
        hooks.At(HookNames.Embed, -1, embed, b, t, D);
        var resid = Copy(embed);
        _pool.Return(embed);
        if (Config.LearnedPositions)
        {
            var pos = _pool.Rent(n * D);
            for (int i = 0; i < n; i++) Array.Copy(Weights.PosEmbed!, (i % t) * D, pos, i * D, D);
            hooks.At(HookNames.PosEmbed, -1, pos, b, t, D);
            TensorPrimitives.Add(resid, pos, resid);
            _pool.Return(pos);
        }
        return resid;
    }

    private (float[] ResidPost, LayerTape Tape) Block(int l, float[] residIn, int b, int t, bool split, bool record, PassHooks hooks)
    {
        var w = Weights.Layers[l];
        int n = b * t;
        var residPre = Copy(residIn);
        hooks.At(HookNames.ResidPre(l), l, residPre, b, t, D);

        var q = _pool.Rent(n * H * Dh);
        var kU = _pool.Rent(n * H * Dh); // keys per query head (grouped-query attention ungrouped)
        var vU = _pool.Rent(n * H * Dh);
        float[]? mean1 = null, rstd1 = null, ln1 = null, qIn = null, kIn = null, vIn = null, sMean = null, sRstd = null;
        float[]? kG, vG;
        if (!split)
        {
            mean1 = _pool.Rent(n);
            rstd1 = _pool.Rent(n);
            ln1 = _pool.Rent(n * D);
            Ops.NormForward(Config.Norm, residPre, n, D, w.Ln1Weight, w.Ln1Bias, Config.NormEps, ln1, mean1, rstd1);
            hooks.At(HookNames.Ln1(l), l, ln1, b, t, D);
            Gemm.Multiply(ln1, D, false, w.Wq, H * Dh, false, q, H * Dh, n, H * Dh, D);
            if (w.Bq != null) Ops.AddBias(q, n, H * Dh, w.Bq);
            kG = _pool.Rent(n * Hkv * Dh);
            vG = _pool.Rent(n * Hkv * Dh);
            Gemm.Multiply(ln1, D, false, w.Wk, Hkv * Dh, false, kG, Hkv * Dh, n, Hkv * Dh, D);
            Gemm.Multiply(ln1, D, false, w.Wv, Hkv * Dh, false, vG, Hkv * Dh, n, Hkv * Dh, D);
            if (w.Bk != null) Ops.AddBias(kG, n, Hkv * Dh, w.Bk);
            if (w.Bv != null) Ops.AddBias(vG, n, Hkv * Dh, w.Bv);
        }
        else
        {
            qIn = Broadcast(residPre, n);
            kIn = Broadcast(residPre, n);
            vIn = Broadcast(residPre, n);
            hooks.At(HookNames.QInput(l), l, qIn, b, t, H, D);
            hooks.At(HookNames.KInput(l), l, kIn, b, t, H, D);
            hooks.At(HookNames.VInput(l), l, vIn, b, t, H, D);
            sMean = _pool.Rent(3 * H * n);
            sRstd = _pool.Rent(3 * H * n);
            var tmp = _pool.Rent(n * D);
            var inputs = new[] { qIn, kIn, vIn };
            var outputs = new[] { q, kU, vU };
            var weights = new[] { w.Wq, w.Wk, w.Wv };
            var biases = new[] { w.Bq, w.Bk, w.Bv };
            for (int port = 0; port < 3; port++)
            for (int h = 0; h < H; h++)
            {
                var mean = _pool.Rent(n);
                var rstd = _pool.Rent(n);
                Ops.NormForward(Config.Norm, inputs[port], n, D, w.Ln1Weight, w.Ln1Bias, Config.NormEps, tmp, mean, rstd, h * D, H * D);
                Array.Copy(mean, 0, sMean, (port * H + h) * n, n);
                Array.Copy(rstd, 0, sRstd, (port * H + h) * n, n);
                if (port == 0 && h == 0) hooks.At(HookNames.Ln1(l), l, (float[])tmp.Clone(), b, t, D);
                int src = port == 0 ? h : h / Config.GroupSize;
                int cols = port == 0 ? H * Dh : Hkv * Dh;
                Gemm.Multiply(tmp, D, false, weights[port].AsSpan(src * Dh), cols, false, outputs[port].AsSpan(h * Dh), H * Dh, n, Dh, D);
                if (biases[port] is { } bias) Ops.AddBias(outputs[port], n, Dh, bias.AsSpan(src * Dh, Dh).ToArray(), h * Dh, H * Dh);
            }
            _pool.Return(tmp);
            kG = vG = null;
        }

        hooks.At(HookNames.Q(l), l, q, b, t, H, Dh);
        KeyValueHook(HookNames.K(l), l, ref kG, kU, split, hooks, b, t);
        KeyValueHook(HookNames.V(l), l, ref vG, vU, split, hooks, b, t);

        if (Config.Rotary != RotaryStyle.None)
        {
            var (_, cos, sin) = Rotary(t);
            Ops.Rotary(q, b, t, H, Dh, Config.RotaryDims, Config.Rotary, cos, sin, inverse: false);
            hooks.At(HookNames.RotQ(l), l, q, b, t, H, Dh);
            if (!split) Ops.Rotary(kG!, b, t, Hkv, Dh, Config.RotaryDims, Config.Rotary, cos, sin, inverse: false);
            else Ops.Rotary(kU, b, t, H, Dh, Config.RotaryDims, Config.Rotary, cos, sin, inverse: false);
            KeyValueHook(HookNames.RotK(l), l, ref kG, kU, split, hooks, b, t);
        }
        if (!split)
        {
            Ungroup(kG!, kU, n);
            Ungroup(vG!, vU, n);
            _pool.Return(kG, vG);
        }

        var pattern = _pool.Rent(b * H * t * t);
        var z = _pool.Rent(n * H * Dh);
        Attention(l, q, kU, vU, pattern, z, b, t, hooks);
        hooks.At(HookNames.Z(l), l, z, b, t, H, Dh);

        var attnOut = _pool.Rent(n * D);
        if (hooks.Active(HookNames.Result(l)))
        {
            var result = _pool.Rent(n * H * D);
            for (int h = 0; h < H; h++)
                Gemm.Multiply(z.AsSpan(h * Dh), H * Dh, false, w.Wo.AsSpan(h * Dh * D), D, false, result.AsSpan(h * D), H * D, n, D, Dh);
            hooks.At(HookNames.Result(l), l, result, b, t, H, D);
            Ops.ForRows(n, H * D, r =>
            {
                var dst = attnOut.AsSpan(r * D, D);
                for (int h = 0; h < H; h++) TensorPrimitives.Add(dst, result.AsSpan((r * H + h) * D, D), dst);
            });
            _pool.Return(result);
        }
        else Gemm.Multiply(z, H * Dh, false, w.Wo, D, false, attnOut, D, n, D, H * Dh);
        if (w.Bo != null) Ops.AddBias(attnOut, n, D, w.Bo);
        hooks.At(HookNames.AttnOut(l), l, attnOut, b, t, D);

        float[] mlpIn;
        float[]? residMid = null;
        if (!Config.ParallelAttnMlp)
        {
            residMid = _pool.Rent(n * D);
            TensorPrimitives.Add(residPre, attnOut, residMid);
            hooks.At(HookNames.ResidMid(l), l, residMid, b, t, D);
            mlpIn = residMid;
        }
        else mlpIn = residPre;
        if (hooks.Active(HookNames.MlpIn(l)))
        {
            mlpIn = Copy(mlpIn);
            hooks.At(HookNames.MlpIn(l), l, mlpIn, b, t, D);
        }

        var mean2 = _pool.Rent(n);
        var rstd2 = _pool.Rent(n);
        var ln2 = _pool.Rent(n * D);
        Ops.NormForward(Config.Norm, mlpIn, n, D, w.Ln2Weight, w.Ln2Bias, Config.NormEps, ln2, mean2, rstd2);
        hooks.At(HookNames.Ln2(l), l, ln2, b, t, D);
        var pre = _pool.Rent(n * M);
        float[]? lin = null;
        if (Config.GatedMlp)
        {
            Gemm.Multiply(ln2, D, false, w.WGate!, M, false, pre, M, n, M, D);
            lin = _pool.Rent(n * M);
            Gemm.Multiply(ln2, D, false, w.WIn, M, false, lin, M, n, M, D);
            if (w.BIn != null) Ops.AddBias(lin, n, M, w.BIn);
            hooks.At(HookNames.MlpPre(l), l, pre, b, t, M);
            hooks.At(HookNames.MlpPreLinear(l), l, lin, b, t, M);
        }
        else
        {
            Gemm.Multiply(ln2, D, false, w.WIn, M, false, pre, M, n, M, D);
            if (w.BIn != null) Ops.AddBias(pre, n, M, w.BIn);
            hooks.At(HookNames.MlpPre(l), l, pre, b, t, M);
        }
        var post = _pool.Rent(n * M);
        Ops.ActivationForward(Config.Activation, pre, lin, post, n, M);
        hooks.At(HookNames.MlpPost(l), l, post, b, t, M);
        var mlpOut = _pool.Rent(n * D);
        Gemm.Multiply(post, M, false, w.WOut, D, false, mlpOut, D, n, D, M);
        if (w.BOut != null) Ops.AddBias(mlpOut, n, D, w.BOut);
        hooks.At(HookNames.MlpOut(l), l, mlpOut, b, t, D);

        var residPost = _pool.Rent(n * D);
        if (residMid != null) TensorPrimitives.Add(residMid, mlpOut, residPost);
        else
        {
            TensorPrimitives.Add(residPre, attnOut, residPost);
            TensorPrimitives.Add(residPost, mlpOut, residPost);
        }
        hooks.At(HookNames.ResidPost(l), l, residPost, b, t, D);

        // What the tape keeps stays; the rest goes back (everything, when nothing is recorded).
        if (!record) _pool.Return(residPre, ln1, qIn, kIn, vIn, q, kU, vU, pattern, z, mlpIn, ln2, pre, lin, post);
        _pool.Return(attnOut, ReferenceEquals(residMid, mlpIn) ? null : residMid, mlpOut);

        var tape = new LayerTape
        {
            ResidPre = residPre, Mean1 = mean1, Rstd1 = rstd1, Ln1 = ln1, QIn = qIn, KIn = kIn, VIn = vIn,
            Split = split, SplitMean = sMean, SplitRstd = sRstd, QRot = q, KRot = kU, V = vU, Pattern = pattern, Z = z,
            MlpIn = mlpIn, Mean2 = mean2, Rstd2 = rstd2, Ln2 = ln2, Pre = pre, Lin = lin, Post = post,
        };
        return (residPost, tape);
    }

    /// <summary>
    /// Runs a key/value hook on its [b,p,Hkv,dh] view. In split mode the per-query-head copies are the truth: the view
    /// is the first query head of each group and an intervention is written back to every head of the group.
    /// </summary>
    private void KeyValueHook(string name, int l, ref float[]? grouped, float[] ungrouped, bool split, PassHooks hooks, int b, int t)
    {
        if (!split) { hooks.At(name, l, grouped!, b, t, Hkv, Dh); return; }
        if (!hooks.Active(name)) return;
        int n = b * t, g = Config.GroupSize;
        if (g == 1) { hooks.At(name, l, ungrouped, b, t, Hkv, Dh); return; }
        var view = _pool.Rent(n * Hkv * Dh);
        for (int r = 0; r < n; r++)
        for (int kv = 0; kv < Hkv; kv++)
            Array.Copy(ungrouped, (r * H + kv * g) * Dh, view, (r * Hkv + kv) * Dh, Dh);
        hooks.At(name, l, view, b, t, Hkv, Dh);
        if (!hooks.Intervenes(name)) return;
        for (int r = 0; r < n; r++)
        for (int h = 0; h < H; h++)
            Array.Copy(view, (r * Hkv + h / g) * Dh, ungrouped, (r * H + h) * Dh, Dh);
        _pool.Return(view);
    }

    /// <summary>A pooled copy of <paramref name="x"/>.</summary>
    private float[] Copy(float[] x) => _pool.RentCopy(x);

    private void Ungroup(float[] grouped, float[] ungrouped, int n)
    {
        int g = Config.GroupSize;
        if (g == 1) { Array.Copy(grouped, ungrouped, grouped.Length); return; }
        for (int r = 0; r < n; r++)
        for (int h = 0; h < H; h++)
            Array.Copy(grouped, (r * Hkv + h / g) * Dh, ungrouped, (r * H + h) * Dh, Dh);
    }

    private float[] Broadcast(float[] x, int n)
    {
        var y = _pool.Rent(n * H * D);
        for (int r = 0; r < n; r++)
        for (int h = 0; h < H; h++)
            Array.Copy(x, r * D, y, (r * H + h) * D, D);
        return y;
    }

    private void Attention(int l, float[] q, float[] k, float[] v, float[] pattern, float[] z, int b, int t, PassHooks hooks)
    {
        float scale = 1f / MathF.Sqrt(Dh);
        int hd = H * Dh;
        string scoresName = HookNames.AttnScores(l), patternName = HookNames.Pattern(l);
        bool scoresHook = hooks.Active(scoresName);
        // Scores straight into the pattern buffer; masked entries are −∞ and become 0 after the softmax.
        ForSmall(b * H, (long)t * t * Dh, bh =>
        {
            int bi = bh / H, h = bh % H;
            for (int i = 0; i < t; i++)
            {
                var row = pattern.AsSpan((bh * t + i) * t, t);
                var qi = q.AsSpan((bi * t + i) * hd + h * Dh, Dh);
                for (int j = 0; j <= i; j++)
                    row[j] = scale * TensorPrimitives.Dot(qi, k.AsSpan((bi * t + j) * hd + h * Dh, Dh));
                row[(i + 1)..].Fill(float.NegativeInfinity);
            }
        });
        if (scoresHook) hooks.At(scoresName, l, pattern, b, H, t, t);
        ForSmall(b * H * t, t, r =>
        {
            int i = r % t;
            var row = pattern.AsSpan(r * t, t);
            TensorPrimitives.SoftMax(row[..(i + 1)], row[..(i + 1)]);
            row[(i + 1)..].Clear();
        });
        hooks.At(patternName, l, pattern, b, H, t, t);
        ForSmall(b * H, (long)t * t * Dh, bh =>
        {
            int bi = bh / H, h = bh % H;
            for (int i = 0; i < t; i++)
            {
                var zi = z.AsSpan((bi * t + i) * hd + h * Dh, Dh);
                zi.Clear();
                var row = pattern.AsSpan((bh * t + i) * t, t);
                // Masked entries are 0 unless an intervention set them; like TransformerLens, z reads the whole row.
                for (int j = 0; j < t; j++)
                    if (row[j] != 0f) TensorPrimitives.MultiplyAdd(v.AsSpan((bi * t + j) * hd + h * Dh, Dh), row[j], zi, zi);
            }
        });
    }

    /// <summary>
    /// <see cref="Parallelism.For"/>, or a plain loop when the whole job is smaller than handing it to another thread
    /// costs (a small model's attention). Items write disjoint outputs, so results are the same either way.
    /// </summary>
    private static void ForSmall(int count, long workPerItem, Action<int> body)
    {
        if (count * workPerItem < 1 << 18)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallelism.For(0, count, body);
    }

    /// <inheritdoc />
    public Tensor ProjectHeadInput(int layer, int head, bool key, Tensor residInput)
    {
        if ((uint)layer >= (uint)Config.NLayers) throw new ArgumentOutOfRangeException(nameof(layer));
        if ((uint)head >= (uint)H) throw new ArgumentOutOfRangeException(nameof(head));
        int b = residInput.Shape[0], t = residInput.Shape[1], n = b * t;
        if (residInput.Rank != 3 || residInput.Shape[2] != D) throw new ArgumentException($"Expected [b,p,{D}], got {residInput.ShapeText}.");
        var w = Weights.Layers[layer];
        var ln = new float[n * D];
        Ops.NormForward(Config.Norm, residInput.Data, n, D, w.Ln1Weight, w.Ln1Bias, Config.NormEps, ln, new float[n], new float[n]);
        int src = key ? head / Config.GroupSize : head;
        int cols = key ? Hkv * Dh : H * Dh;
        var weight = key ? w.Wk : w.Wq;
        var bias = key ? w.Bk : w.Bq;
        var y = new float[n * Dh];
        Gemm.Multiply(ln, D, false, weight.AsSpan(src * Dh), cols, false, y, Dh, n, Dh, D);
        if (bias != null) Ops.AddBias(y, n, Dh, bias.AsSpan(src * Dh, Dh).ToArray());
        if (Config.Rotary != RotaryStyle.None)
        {
            var (_, cos, sin) = Rotary(t);
            Ops.Rotary(y, b, t, 1, Dh, Config.RotaryDims, Config.Rotary, cos, sin, inverse: false);
        }
        return new Tensor(y, b, t, Dh);
    }

    // Built once: checking each intervention against a fresh list cost ~2% of a patched pass on a small model.
    private HashSet<string>? _knownHookNames;

    private bool HookNameIsKnown(string name)
        => (_knownHookNames ??= new HashSet<string>(AllHookNames(), StringComparer.Ordinal)).Contains(name);

    /// <summary>Every hook point this model has, in forward order.</summary>
    public IReadOnlyList<string> AllHookNames()
    {
        var names = new List<string> { HookNames.Embed };
        if (Config.LearnedPositions) names.Add(HookNames.PosEmbed);
        for (int l = 0; l < Config.NLayers; l++)
        {
            names.Add(HookNames.ResidPre(l));
            names.AddRange(new[] { HookNames.QInput(l), HookNames.KInput(l), HookNames.VInput(l), HookNames.Ln1(l),
                HookNames.Q(l), HookNames.K(l), HookNames.V(l) });
            if (Config.Rotary != RotaryStyle.None) names.AddRange(new[] { HookNames.RotQ(l), HookNames.RotK(l) });
            names.AddRange(new[] { HookNames.AttnScores(l), HookNames.Pattern(l), HookNames.Z(l), HookNames.Result(l), HookNames.AttnOut(l) });
            if (!Config.ParallelAttnMlp) names.Add(HookNames.ResidMid(l));
            names.AddRange(new[] { HookNames.MlpIn(l), HookNames.Ln2(l), HookNames.MlpPre(l) });
            if (Config.GatedMlp) names.Add(HookNames.MlpPreLinear(l));
            names.AddRange(new[] { HookNames.MlpPost(l), HookNames.MlpOut(l), HookNames.ResidPost(l) });
        }
        names.Add(HookNames.LnFinal);
        names.Add(HookNames.Logits);
        return names;
    }

    private void CheckWeights()
    {
        void Len(float[]? a, long expected, string name, bool required = true)
        {
            if (a == null)
            {
                if (required) throw new ArgumentException($"Weight '{name}' is missing.");
                return;
            }
            if (a.LongLength != expected)
                throw new ArgumentException($"Weight '{name}' has {a.Length} elements; the config implies {expected}.");
        }
        // In 64 bits: a config's sizes multiply past int.MaxValue (a wrong length, not an overflow, is the error).
        long D = this.D, H = this.H, Hkv = this.Hkv, Dh = this.Dh, M = this.M, V = this.V;
        Len(Weights.TokenEmbed, V * D, "embed.W_E");
        Len(Weights.Unembed, V * D, "unembed.W_U");
        Len(Weights.PosEmbed, Config.MaxPositions * D, "pos_embed.W_pos", Config.LearnedPositions);
        Len(Weights.LnFinalWeight, D, "ln_final.w");
        if (Weights.Layers.Length != Config.NLayers)
            throw new ArgumentException($"{Weights.Layers.Length} layers of weights for a config with {Config.NLayers}.");
        for (int l = 0; l < Config.NLayers; l++)
        {
            var w = Weights.Layers[l];
            string p = $"blocks.{l}.";
            Len(w.Ln1Weight, D, p + "ln1.w");
            Len(w.Ln2Weight, D, p + "ln2.w");
            Len(w.Wq, D * H * Dh, p + "attn.W_Q");
            Len(w.Wk, D * Hkv * Dh, p + "attn.W_K");
            Len(w.Wv, D * Hkv * Dh, p + "attn.W_V");
            Len(w.Wo, H * Dh * D, p + "attn.W_O");
            Len(w.WIn, D * M, p + "mlp.W_in");
            Len(w.WGate, D * M, p + "mlp.W_gate", Config.GatedMlp);
            Len(w.WOut, M * D, p + "mlp.W_out");
            if (Config.Norm == NormKind.LayerNorm)
            {
                Len(w.Ln1Bias, D, p + "ln1.b", false);
                Len(w.Ln2Bias, D, p + "ln2.b", false);
            }
        }
    }
}
