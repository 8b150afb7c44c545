using MechTests.Hooks;
using MechTests.Models;
using MechTests.Patching;

namespace MechTests.Attribution;

/// <summary>
/// AtP*'s fix for saturated attention: recompute the changed attention logits exactly, redo the softmax exactly, and
/// linearise only from the attention probabilities on: Î = Σ_t (A'_t − A_t) · g_t with g_t = ∂L/∂A_t.
/// </summary>
public static class QkFix
{
    /// <summary>
    /// The closed form for one key position s of one query row t: (A'_t − A_t)·g_t when only logit s moves by Δ,
    /// <c>A_ts(e^Δ − 1)(g_ts − ḡ_t) / (1 + A_ts(e^Δ − 1))</c> with ḡ_t = Σ_j A_tj g_tj. O(1) per (t, s).
    /// </summary>
    public static double ClosedForm(double attention, double delta, double gradient, double meanGradient)
    {
        double u = attention * double.ExpM1(delta);
        double ratio = double.IsPositiveInfinity(u) ? 1.0 : u / (1.0 + u);
        return ratio * (gradient - meanGradient);
    }

    /// <summary>Brute force: (softmax(logits') − softmax(logits)) · g over one row.</summary>
    public static double BruteForce(ReadOnlySpan<double> logits, ReadOnlySpan<double> newLogits, ReadOnlySpan<double> gradient)
    {
        var a = Softmax(logits);
        var b = Softmax(newLogits);
        double s = 0;
        for (int j = 0; j < a.Length; j++) s += (b[j] - a[j]) * gradient[j];
        return s;
    }

    /// <summary>Per-pair QK-fixed estimate of a query or key node.</summary>
    internal static double[] NodeEstimate(ModelConfig c, ActivationNode n, PairBatch batch, ActivationCache grads)
    {
        int l = n.Layer, k = batch.Pairs.Length, t = batch.Positions, dh = c.DHead, h = c.NHeads, hkv = c.NKvHeads, g = c.GroupSize;
        bool rotary = c.Rotary != RotaryStyle.None;
        var q = batch.Clean.Cache[rotary ? HookNames.RotQ(l) : HookNames.Q(l)].Data;
        var key = batch.Clean.Cache[rotary ? HookNames.RotK(l) : HookNames.K(l)].Data;
        var corr = batch.Corrupted.Cache[n.Hook].Data;
        var pattern = batch.Clean.Cache[HookNames.Pattern(l)].Data;
        var gp = grads[HookNames.Pattern(l)].Data;
        double scale = 1.0 / Math.Sqrt(dh);
        var result = new double[k];
        var logits = new double[t];
        var newLogits = new double[t];
        var grad = new double[t];
        for (int i = 0; i < k; i++)
        {
            double total = 0;
            // A query node belongs to one head; a key node to every query head of its kv group.
            var heads = n.IsQuery ? new[] { n.Unit } : Enumerable.Range(n.Unit * g, g).ToArray();
            foreach (int head in heads)
            {
                int kvHead = head / g;
                for (int row = 0; row < t; row++)
                {
                    int pOff = ((i * h + head) * t + row) * t;
                    if (n.IsKey && n.Position >= 0)
                    {
                        // One key position s moves one logit per row t ≥ s: the O(1) closed form.
                        int s = n.Position;
                        if (s > row) continue;
                        double gBar = 0;
                        for (int j = 0; j <= row; j++) gBar += pattern[pOff + j] * gp[pOff + j];
                        double delta = 0;
                        for (int x = 0; x < dh; x++)
                        {
                            int kOff = ((i * t + s) * hkv + kvHead) * dh + x;
                            delta += q[((i * t + row) * h + head) * dh + x] * (corr[kOff] - key[kOff]);
                        }
                        total += ClosedForm(pattern[pOff + s], delta * scale, gp[pOff + s], gBar);
                        continue;
                    }
                    if (n.IsQuery && n.Position >= 0 && row != n.Position) continue;
                    int len = row + 1;
                    for (int j = 0; j < len; j++)
                    {
                        double dot = 0, dotNew = 0;
                        for (int x = 0; x < dh; x++)
                        {
                            int qOff = ((i * t + row) * h + head) * dh + x;
                            int kOff = ((i * t + j) * hkv + kvHead) * dh + x;
                            dot += q[qOff] * key[kOff];
                            dotNew += n.IsQuery ? corr[qOff] * key[kOff] : q[qOff] * corr[kOff];
                        }
                        logits[j] = dot * scale;
                        newLogits[j] = dotNew * scale;
                        grad[j] = gp[pOff + j];
                    }
                    total += BruteForce(logits.AsSpan(0, len), newLogits.AsSpan(0, len), grad.AsSpan(0, len));
                }
            }
            result[i] = total;
        }
        return result;
    }

    private static double[] Softmax(ReadOnlySpan<double> x)
    {
        double max = double.NegativeInfinity;
        foreach (double v in x) max = Math.Max(max, v);
        var r = new double[x.Length];
        double sum = 0;
        for (int j = 0; j < x.Length; j++) sum += r[j] = Math.Exp(x[j] - max);
        for (int j = 0; j < x.Length; j++) r[j] /= sum;
        return r;
    }
}
