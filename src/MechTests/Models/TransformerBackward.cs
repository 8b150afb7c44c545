using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MechTests.Hooks;
using MechTests.Tensors;

namespace MechTests.Models;

public sealed partial class Transformer
{
    /// <inheritdoc />
    public BackwardPass Backward(ForwardPass pass, Tensor dLogits, BackwardOptions options)
    {
        var tape = pass.Tape as Tape ?? throw new InvalidOperationException(
            "This forward pass has no backward record: run it with RunOptions.RecordForBackward = true (and do not dispose it before the backward pass).");
        int b = pass.Batch, t = pass.Positions, n = b * t;
        if (options.ResumeFrom == null && (dLogits.Rank != 3 || dLogits.Shape[0] != b || dLogits.Shape[1] != t || dLogits.Shape[2] != V))
            throw new ArgumentException($"dLogits has shape {dLogits.ShapeText}; expected [{b}, {t}, {V}] like the logits.");
        if (options.StopGradientAtLayerWrite is int stop && (stop < 0 || stop >= Config.NLayers))
            throw new ArgumentOutOfRangeException(nameof(options), $"StopGradientAtLayerWrite = {stop} but the model has layers 0..{Config.NLayers - 1}.");

        var ctx = new BackwardContext(_pool, options, b, t, options.WeightGradients ? new Dictionary<string, float[]>(StringComparer.Ordinal) : null);
        float[] dResid;
        int top = Config.NLayers - 1;
        if (options.ResumeFrom is { } resume)
        {
            if (options.WeightGradients)
                throw new ArgumentException("BackwardOptions.ResumeFrom skips the layers above it, so it cannot give weight gradients; run the full pass.", nameof(options));
            if (resume.Layer < 0 || resume.Layer >= Config.NLayers)
                throw new ArgumentOutOfRangeException(nameof(options), $"ResumeFrom.Layer = {resume.Layer} but the model has layers 0..{Config.NLayers - 1}.");
            var g = resume.ResidPostGradient;
            if (g.Rank != 3 || g.Shape[0] != b || g.Shape[1] != t || g.Shape[2] != D)
                throw new ArgumentException($"ResumeFrom.ResidPostGradient has shape {g.ShapeText}; expected [{b}, {t}, {D}] like resid_post.", nameof(options));
            dResid = Copy(g.Data);
            top = resume.Layer;
        }
        else dResid = OutputBackward(tape, dLogits, ctx, b, t);

        for (int l = top; l >= 0; l--)
        {
            ctx.Emit(HookNames.ResidPost(l), dResid, b, t, D);
            var below = BlockBackward(l, tape, dResid, ctx);
            _pool.Return(dResid);
            dResid = below;
        }

        ctx.Emit(HookNames.Embed, dResid, b, t, D);
        if (Config.LearnedPositions) ctx.Emit(HookNames.PosEmbed, dResid, b, t, D);
        if (ctx.Weights != null)
        {
            var gE = ctx.W("embed.W_E", V * D);
            float[]? gP = Config.LearnedPositions ? ctx.W("pos_embed.W_pos", Config.MaxPositions * D) : null;
            for (int i = 0; i < n; i++)
            {
                var row = dResid.AsSpan(i * D, D);
                var e = gE.AsSpan(tape.Tokens[i / t][i % t] * D, D);
                TensorPrimitives.Add(e, row, e);
                if (gP != null)
                {
                    var p = gP.AsSpan((i % t) * D, D);
                    TensorPrimitives.Add(p, row, p);
                }
            }
        }
        _pool.Return(dResid);
        return new BackwardPass(ctx.Gradients, ctx.Weights, ctx.Release);
    }

    /// <summary>Logits → unembedding → final norm: the gradient at the last block's resid_post.</summary>
    private float[] OutputBackward(Tape tape, Tensor dLogits, BackwardContext ctx, int b, int t)
    {
        int n = b * t;
        var dl = dLogits.Data;
        ctx.Emit(HookNames.Logits, dl, b, t, V);

        var dLnF = _pool.Rent(n * D);
        Gemm.Multiply(dl, V, false, Weights.Unembed, D, false, dLnF, D, n, D, V);
        if (ctx.Weights != null)
        {
            string uName = ReferenceEquals(Weights.Unembed, Weights.TokenEmbed) ? "embed.W_E" : "unembed.W_U";
            Gemm.Multiply(dl, V, true, tape.LnF, D, false, ctx.W(uName, V * D), D, V, D, n, accumulate: true);
            if (Weights.UnembedBias != null) Ops.AddColumnSums(dl, n, V, ctx.W("unembed.b_U", V));
        }
        ctx.Emit(HookNames.LnFinal, dLnF, b, t, D);
        var dResid = _pool.Rent(n * D);
        Ops.NormBackward(Config.Norm, tape.ResidFinal, n, D, Weights.LnFinalWeight, tape.MeanF, tape.RstdF, dLnF, dResid, false,
            ctx.WOpt("ln_final.w", D), Weights.LnFinalBias != null ? ctx.WOpt("ln_final.b", D) : null);
        _pool.Return(dLnF);
        return dResid;
    }

    private float[] BlockBackward(int l, Tape tape, float[] dResidPost, BackwardContext ctx)
    {
        var w = Weights.Layers[l];
        var lt = tape.Layers[l];
        int b = ctx.Batch, t = ctx.Positions, n = b * t, hd = H * Dh;
        bool stop = ctx.Options.StopGradientAtLayerWrite == l;
        string p = $"blocks.{l}.";

        // MLP.
        var dMlpOut = stop ? _pool.Rent(n * D) : dResidPost;
        ctx.Emit(HookNames.MlpOut(l), dMlpOut, b, t, D);
        var dPost = _pool.Rent(n * M);
        Gemm.Multiply(dMlpOut, D, false, w.WOut, D, true, dPost, M, n, M, D);
        if (ctx.Weights != null)
        {
            Gemm.Multiply(lt.Post, M, true, dMlpOut, D, false, ctx.W(p + "mlp.W_out", M * D), D, M, D, n, accumulate: true);
            if (w.BOut != null) Ops.AddColumnSums(dMlpOut, n, D, ctx.W(p + "mlp.b_out", D));
        }
        bool keptPost = ctx.EmitOwned(HookNames.MlpPost(l), dPost, b, t, M);
        var dPre = _pool.Rent(n * M);
        var dLin = Config.GatedMlp ? _pool.Rent(n * M) : null;
        Ops.ActivationBackward(Config.Activation, lt.Pre, lt.Lin, dPost, dPre, dLin, n, M);
        bool keptPre = ctx.EmitOwned(HookNames.MlpPre(l), dPre, b, t, M);
        var dLn2 = _pool.Rent(n * D);
        bool keptLin = false;
        if (Config.GatedMlp)
        {
            keptLin = ctx.EmitOwned(HookNames.MlpPreLinear(l), dLin!, b, t, M);
            Gemm.Multiply(dPre, M, false, w.WGate!, M, true, dLn2, D, n, D, M);
            Gemm.Multiply(dLin!, M, false, w.WIn, M, true, dLn2, D, n, D, M, accumulate: true);
            if (ctx.Weights != null)
            {
                Gemm.Multiply(lt.Ln2, D, true, dPre, M, false, ctx.W(p + "mlp.W_gate", D * M), M, D, M, n, accumulate: true);
                Gemm.Multiply(lt.Ln2, D, true, dLin!, M, false, ctx.W(p + "mlp.W_in", D * M), M, D, M, n, accumulate: true);
                if (w.BIn != null) Ops.AddColumnSums(dLin!, n, M, ctx.W(p + "mlp.b_in", M));
            }
        }
        else
        {
            Gemm.Multiply(dPre, M, false, w.WIn, M, true, dLn2, D, n, D, M);
            if (ctx.Weights != null)
            {
                Gemm.Multiply(lt.Ln2, D, true, dPre, M, false, ctx.W(p + "mlp.W_in", D * M), M, D, M, n, accumulate: true);
                if (w.BIn != null) Ops.AddColumnSums(dPre, n, M, ctx.W(p + "mlp.b_in", M));
            }
        }
        ctx.Emit(HookNames.Ln2(l), dLn2, b, t, D);
        var dMlpIn = _pool.Rent(n * D);
        Ops.NormBackward(Config.Norm, lt.MlpIn, n, D, w.Ln2Weight, lt.Mean2, lt.Rstd2, dLn2, dMlpIn, false,
            ctx.WOpt(p + "ln2.w", D), w.Ln2Bias != null ? ctx.WOpt(p + "ln2.b", D) : null);
        ctx.Emit(HookNames.MlpIn(l), dMlpIn, b, t, D);

        float[] upstream, dAttnOut;
        if (!Config.ParallelAttnMlp)
        {
            var dResidMid = _pool.Rent(n * D);
            TensorPrimitives.Add(dResidPost, dMlpIn, dResidMid);
            ctx.Emit(HookNames.ResidMid(l), dResidMid, b, t, D);
            upstream = dResidMid;
            dAttnOut = stop ? _pool.Rent(n * D) : dResidMid;
        }
        else
        {
            upstream = _pool.Rent(n * D);
            TensorPrimitives.Add(dResidPost, dMlpIn, upstream);
            dAttnOut = stop ? _pool.Rent(n * D) : dResidPost;
        }

        // Attention output.
        ctx.Emit(HookNames.AttnOut(l), dAttnOut, b, t, D);
        if (ctx.Wants(HookNames.Result(l)))
        {
            var dResult = _pool.Rent(n * H * D);
            for (int r = 0; r < n; r++)
            for (int h = 0; h < H; h++)
                Array.Copy(dAttnOut, r * D, dResult, (r * H + h) * D, D);
            if (!ctx.EmitOwned(HookNames.Result(l), dResult, b, t, H, D)) _pool.Return(dResult);
        }
        var dZ = _pool.Rent(n * hd);
        Gemm.Multiply(dAttnOut, D, false, w.Wo, D, true, dZ, hd, n, hd, D);
        if (ctx.Weights != null)
        {
            Gemm.Multiply(lt.Z, hd, true, dAttnOut, D, false, ctx.W(p + "attn.W_O", hd * D), D, hd, D, n, accumulate: true);
            if (w.Bo != null) Ops.AddColumnSums(dAttnOut, n, D, ctx.W(p + "attn.b_O", D));
        }
        ctx.Emit(HookNames.Z(l), dZ, b, t, H, Dh);

        var dQ = _pool.Rent(n * hd);
        var dK = _pool.Rent(n * hd);
        var dV = _pool.Rent(n * hd);
        AttentionBackward(l, lt, dZ, dQ, dK, dV, ctx);

        bool rotary = Config.Rotary != RotaryStyle.None;
        if (rotary)
        {
            ctx.Emit(HookNames.RotQ(l), dQ, b, t, H, Dh);
            if (ctx.Wants(HookNames.RotK(l)))
            {
                var grouped = Group(dK, n);
                if (!ctx.EmitOwned(HookNames.RotK(l), grouped, b, t, Hkv, Dh)) _pool.Return(grouped);
            }
            var (_, cos, sin) = Rotary(t);
            Ops.Rotary(dQ, b, t, H, Dh, Config.RotaryDims, Config.Rotary, cos, sin, inverse: true);
            Ops.Rotary(dK, b, t, H, Dh, Config.RotaryDims, Config.Rotary, cos, sin, inverse: true);
        }
        ctx.Emit(HookNames.Q(l), dQ, b, t, H, Dh);
        bool perHead = lt.Split || ctx.Wants(HookNames.QInput(l)) || ctx.Wants(HookNames.KInput(l)) || ctx.Wants(HookNames.VInput(l));
        float[]? dKg = null, dVg = null;
        if (!perHead || ctx.Wants(HookNames.K(l))) dKg = Group(dK, n);
        if (!perHead || ctx.Wants(HookNames.V(l))) dVg = Group(dV, n);
        if (dKg != null) ctx.Emit(HookNames.K(l), dKg, b, t, Hkv, Dh);
        if (dVg != null) ctx.Emit(HookNames.V(l), dVg, b, t, Hkv, Dh);

        var dAttnIn = _pool.Rent(n * D);
        if (!perHead)
        {
            var dLn1 = _pool.Rent(n * D);
            Gemm.Multiply(dQ, hd, false, w.Wq, hd, true, dLn1, D, n, D, hd);
            Gemm.Multiply(dKg!, Hkv * Dh, false, w.Wk, Hkv * Dh, true, dLn1, D, n, D, Hkv * Dh, accumulate: true);
            Gemm.Multiply(dVg!, Hkv * Dh, false, w.Wv, Hkv * Dh, true, dLn1, D, n, D, Hkv * Dh, accumulate: true);
            ctx.Emit(HookNames.Ln1(l), dLn1, b, t, D);
            if (ctx.Weights != null)
            {
                Gemm.Multiply(lt.Ln1!, D, true, dQ, hd, false, ctx.W(p + "attn.W_Q", D * hd), hd, D, hd, n, accumulate: true);
                Gemm.Multiply(lt.Ln1!, D, true, dKg!, Hkv * Dh, false, ctx.W(p + "attn.W_K", D * Hkv * Dh), Hkv * Dh, D, Hkv * Dh, n, accumulate: true);
                Gemm.Multiply(lt.Ln1!, D, true, dVg!, Hkv * Dh, false, ctx.W(p + "attn.W_V", D * Hkv * Dh), Hkv * Dh, D, Hkv * Dh, n, accumulate: true);
                if (w.Bq != null) Ops.AddColumnSums(dQ, n, hd, ctx.W(p + "attn.b_Q", hd));
                if (w.Bk != null) Ops.AddColumnSums(dKg!, n, Hkv * Dh, ctx.W(p + "attn.b_K", Hkv * Dh));
                if (w.Bv != null) Ops.AddColumnSums(dVg!, n, Hkv * Dh, ctx.W(p + "attn.b_V", Hkv * Dh));
            }
            Ops.NormBackward(Config.Norm, lt.ResidPre, n, D, w.Ln1Weight, lt.Mean1!, lt.Rstd1!, dLn1, dAttnIn, false,
                ctx.WOpt(p + "ln1.w", D), w.Ln1Bias != null ? ctx.WOpt(p + "ln1.b", D) : null);
            _pool.Return(dLn1);
        }
        else PerHeadInputBackward(l, lt, lt.Split, dQ, dK, dV, dAttnIn, ctx);

        var dResidPre = _pool.Rent(n * D);
        TensorPrimitives.Add(upstream, dAttnIn, dResidPre);
        ctx.Emit(HookNames.ResidPre(l), dResidPre, b, t, D);
        // dResidPost belongs to the caller; dMlpOut and dAttnOut alias it (or the upstream sum) unless stopped.
        // Buffers kept as emitted gradients go back when the BackwardPass is disposed.
        _pool.Return(stop ? dMlpOut : null, stop ? dAttnOut : null, keptPost ? null : dPost, keptPre ? null : dPre,
            keptLin ? null : dLin, dLn2, dMlpIn, upstream,
            dZ, dQ, dK, dV, dKg, dVg, dAttnIn);
        return dResidPre;
    }

    /// <summary>Backward through ln1 separately for every (port, query head): gradients at hook_q/k/v_input.</summary>
    private void PerHeadInputBackward(int l, LayerTape lt, bool split, float[] dQ, float[] dK, float[] dV, float[] dAttnIn, BackwardContext ctx)
    {
        var w = Weights.Layers[l];
        int b = ctx.Batch, t = ctx.Positions, n = b * t, hd = H * Dh;
        string p = $"blocks.{l}.";
        var dOut = new[] { dQ, dK, dV };
        var weights = new[] { w.Wq, w.Wk, w.Wv };
        var inputs = new[] { lt.QIn, lt.KIn, lt.VIn };
        string[] wNames = { "attn.W_Q", "attn.W_K", "attn.W_V" };
        string[] bNames = { "attn.b_Q", "attn.b_K", "attn.b_V" };
        var biases = new[] { w.Bq, w.Bk, w.Bv };
        var dIn = new float[3][];
        var tmp = _pool.Rent(n * D);
        var normed = ctx.Weights != null ? _pool.Rent(n * D) : null;
        float[]? dLn1 = ctx.Wants(HookNames.Ln1(l)) ? _pool.Rent(n * D) : null;
        var scratchMean = _pool.Rent(n);
        var scratchRstd = _pool.Rent(n);
        for (int port = 0; port < 3; port++)
        {
            dIn[port] = _pool.Rent(n * H * D);
            int cols = port == 0 ? hd : Hkv * Dh;
            for (int h = 0; h < H; h++)
            {
                int src = port == 0 ? h : h / Config.GroupSize;
                Gemm.Multiply(dOut[port].AsSpan(h * Dh), hd, false, weights[port].AsSpan(src * Dh), cols, true, tmp, D, n, D, Dh);
                if (dLn1 != null) TensorPrimitives.Add(dLn1, tmp, dLn1);
                float[] x = split ? inputs[port]! : lt.ResidPre;
                int xOff = split ? h * D : 0, xStride = split ? H * D : D;
                float[] mean = split ? lt.SplitMean! : lt.Mean1!;
                float[] rstd = split ? lt.SplitRstd! : lt.Rstd1!;
                int statOff = split ? (port * H + h) * n : 0;
                Ops.NormBackward(Config.Norm, x, n, D, w.Ln1Weight, mean, rstd, tmp, dIn[port], false,
                    ctx.WOpt(p + "ln1.w", D), w.Ln1Bias != null ? ctx.WOpt(p + "ln1.b", D) : null,
                    xOff, xStride, h * D, H * D, statOff);
                if (ctx.Weights != null)
                {
                    // The normalised input of this copy, recomputed (stats are identical by construction).
                    Ops.NormForward(Config.Norm, x, n, D, w.Ln1Weight, w.Ln1Bias, Config.NormEps, normed!, scratchMean, scratchRstd, xOff, xStride);
                    Gemm.Multiply(normed!, D, true, dOut[port].AsSpan(h * Dh), hd, false, ctx.W(p + wNames[port], D * cols).AsSpan(src * Dh), cols, D, Dh, n, accumulate: true);
                    if (biases[port] != null)
                    {
                        var gb = ctx.W(p + bNames[port], cols);
                        for (int r = 0; r < n; r++)
                        for (int j = 0; j < Dh; j++)
                            gb[src * Dh + j] += dOut[port][r * hd + h * Dh + j];
                    }
                }
            }
        }
        if (dLn1 != null) ctx.Emit(HookNames.Ln1(l), dLn1, b, t, D);
        ctx.Emit(HookNames.QInput(l), dIn[0], b, t, H, D);
        ctx.Emit(HookNames.KInput(l), dIn[1], b, t, H, D);
        ctx.Emit(HookNames.VInput(l), dIn[2], b, t, H, D);
        Ops.ForRows(n, r =>
        {
            var dst = dAttnIn.AsSpan(r * D, D);
            for (int port = 0; port < 3; port++)
            for (int h = 0; h < H; h++)
                TensorPrimitives.Add(dst, dIn[port].AsSpan((r * H + h) * D, D), dst);
        });
        _pool.Return(dIn[0], dIn[1], dIn[2], tmp, normed, dLn1);
    }

    private void AttentionBackward(int l, LayerTape lt, float[] dZ, float[] dQ, float[] dK, float[] dV, BackwardContext ctx)
    {
        int b = ctx.Batch, t = ctx.Positions, hd = H * Dh;
        float scale = 1f / MathF.Sqrt(Dh);
        bool wantPattern = ctx.Wants(HookNames.Pattern(l)), wantScores = ctx.Wants(HookNames.AttnScores(l));
        var dPatternAll = wantPattern ? _pool.Rent(b * H * t * t) : null;
        var dScoresAll = wantScores ? _pool.Rent(b * H * t * t) : null;
        var q = lt.QRot;
        var k = lt.KRot;
        var v = lt.V;
        Parallelism.For(0, b * H, bh =>
        {
            int bi = bh / H, h = bh % H;
            Span<float> dP = t <= 1024 ? stackalloc float[t] : new float[t];
            for (int i = 0; i < t; i++)
            {
                var prow = lt.Pattern.AsSpan((bh * t + i) * t, t);
                var dzi = dZ.AsSpan((bi * t + i) * hd + h * Dh, Dh);
                double dot = 0;
                // z reads the whole row (masked entries are 0 unless intervened on), so dP exists everywhere.
                int jEnd = dPatternAll != null ? t : i + 1;
                for (int j = 0; j < jEnd; j++)
                {
                    var vj = v.AsSpan((bi * t + j) * hd + h * Dh, Dh);
                    dP[j] = TensorPrimitives.Dot(dzi, vj);
                    if (j > i && prow[j] == 0f) continue;
                    dot += (double)dP[j] * prow[j];
                    var dvj = dV.AsSpan((bi * t + j) * hd + h * Dh, Dh);
                    TensorPrimitives.MultiplyAdd(dzi, prow[j], dvj, dvj);
                }
                if (dPatternAll != null) dP[..t].CopyTo(dPatternAll.AsSpan((bh * t + i) * t, t));
                var dqi = dQ.AsSpan((bi * t + i) * hd + h * Dh, Dh);
                var qi = q.AsSpan((bi * t + i) * hd + h * Dh, Dh);
                for (int j = 0; j <= i; j++)
                {
                    float ds = prow[j] * (dP[j] - (float)dot);
                    if (dScoresAll != null) dScoresAll[(bh * t + i) * t + j] = ds;
                    ds *= scale;
                    TensorPrimitives.MultiplyAdd(k.AsSpan((bi * t + j) * hd + h * Dh, Dh), ds, dqi, dqi);
                    var dkj = dK.AsSpan((bi * t + j) * hd + h * Dh, Dh);
                    TensorPrimitives.MultiplyAdd(qi, ds, dkj, dkj);
                }
            }
        });
        if (dPatternAll != null) ctx.Emit(HookNames.Pattern(l), dPatternAll, b, H, t, t);
        if (dScoresAll != null) ctx.Emit(HookNames.AttnScores(l), dScoresAll, b, H, t, t);
        _pool.Return(dPatternAll, dScoresAll);
    }

    /// <summary>Sums per-query-head gradients [n,H·dh] into their key/value heads [n,Hkv·dh].</summary>
    private float[] Group(float[] ungrouped, int n)
    {
        int g = Config.GroupSize;
        if (g == 1) return Copy(ungrouped);
        var grouped = _pool.Rent(n * Hkv * Dh);
        for (int r = 0; r < n; r++)
        for (int h = 0; h < H; h++)
        {
            var dst = grouped.AsSpan((r * Hkv + h / g) * Dh, Dh);
            TensorPrimitives.Add(dst, ungrouped.AsSpan((r * H + h) * Dh, Dh), dst);
        }
        return grouped;
    }

    private sealed class BackwardContext
    {
        private readonly ScratchPool _pool;
        private readonly List<float[]> _emitted = new();

        public BackwardContext(ScratchPool pool, BackwardOptions options, int batch, int positions, Dictionary<string, float[]>? weights)
        {
            _pool = pool;
            Options = options;
            Batch = batch;
            Positions = positions;
            Weights = weights;
        }

        public BackwardOptions Options { get; }
        public int Batch { get; }
        public int Positions { get; }
        public Dictionary<string, float[]>? Weights { get; }
        public ActivationCache Gradients { get; } = new("gradients");

        public bool Wants(string name) => Options.Gradients.Matches(name);

        public void Emit(string name, float[] data, params int[] shape)
        {
            if (!Options.Gradients.Matches(name)) return;
            var copy = _pool.RentCopy(data);
            _emitted.Add(copy);
            Gradients.Set(name, new Tensor(copy, shape));
        }

        /// <summary>
        /// Emits <paramref name="data"/> itself, without a copy, when the gradient is wanted: the caller must then
        /// neither write to it nor return it to the pool. Returns whether it was kept.
        /// </summary>
        public bool EmitOwned(string name, float[] data, params int[] shape)
        {
            if (!Options.Gradients.Matches(name)) return false;
            _emitted.Add(data);
            Gradients.Set(name, new Tensor(data, shape));
            return true;
        }

        /// <summary>Gives the emitted gradients' buffers back (BackwardPass.Dispose).</summary>
        public void Release() => _pool.Return(_emitted.ToArray());

        public float[] W(string name, int length)
        {
            if (!Weights!.TryGetValue(name, out var g)) Weights[name] = g = new float[length];
            return g;
        }

        public float[]? WOpt(string name, int length) => Weights == null ? null : W(name, length);
    }
}
