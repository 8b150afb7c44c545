using MechTests.Models;

namespace MechTests.GroundTruth;

/// <summary>
/// Writes planted weights entry by entry in the engine's canonical layout, starting from all zeros.
/// Residual dimension 0 is reserved for a large constant "bias" direction <see cref="Bias"/> present in every token
/// embedding: it dominates the RMS, so RMSNorm scales every signal by the same factor up to a relative
/// O(|signal|²/Bias²) ≈ 1e-6, and the norm weights are set so that a signal of size 1 stays of size 1 (and the bias
/// coordinate itself normalises to ≈ 1, usable as a constant input).
/// </summary>
internal sealed class PlantedWeights
{
    /// <summary>Size of the constant bias direction in every token embedding.</summary>
    public const float Bias = 1000f;

    /// <summary>Residual dimension of the bias direction.</summary>
    public const int BiasDim = 0;

    private readonly ModelConfig _c;
    private readonly float[] _embed, _unembed;
    private readonly float[]? _pos;
    private readonly (float[] Wq, float[] Wk, float[] Wv, float[] Wo, float[] WIn, float[]? WGate, float[] WOut)[] _layers;

    public PlantedWeights(ModelConfig c)
    {
        if (c.NKvHeads != c.NHeads) throw new ArgumentException("Planted models use one key/value head per query head.");
        if (c.Norm != NormKind.RmsNorm) throw new ArgumentException("Planted models use RMSNorm (no mean subtraction).");
        _c = c;
        int d = c.DModel, hd = c.NHeads * c.DHead;
        _embed = new float[c.VocabSize * d];
        _unembed = new float[c.VocabSize * d];
        _pos = c.LearnedPositions ? new float[c.MaxPositions * d] : null;
        _layers = Enumerable.Range(0, c.NLayers).Select(_ => (new float[d * hd], new float[d * hd], new float[d * hd], new float[hd * d],
            new float[d * c.DMlp], c.GatedMlp ? new float[d * c.DMlp] : null, new float[c.DMlp * d])).ToArray();
        // Every token carries the bias direction, so it cancels in every clean − corrupted difference.
        for (int t = 0; t < c.VocabSize; t++) _embed[t * d + BiasDim] = Bias;
    }

    private int D => _c.DModel;
    private int Hd => _c.NHeads * _c.DHead;

    private void CheckHead(int layer, int head, int dim)
    {
        if ((uint)layer >= (uint)_c.NLayers || (uint)head >= (uint)_c.NHeads || (uint)dim >= (uint)_c.DHead)
            throw new ArgumentOutOfRangeException(nameof(dim), $"layer {layer}, head {head}, head dim {dim} is outside the config.");
    }

    /// <summary>Token embedding entry.</summary>
    public void Embed(int token, int dim, float value) => _embed[token * D + dim] = value;

    /// <summary>Position embedding entry.</summary>
    public void Pos(int position, int dim, float value) => _pos![position * D + dim] = value;

    /// <summary>Unembedding entry: logit of <paramref name="token"/> reads residual dimension <paramref name="dim"/>.</summary>
    public void Unembed(int token, int dim, float value) => _unembed[token * D + dim] = value;

    /// <summary>W_Q: residual dimension → head dimension.</summary>
    public void Q(int layer, int head, int residDim, int headDim, float value)
    {
        CheckHead(layer, head, headDim);
        _layers[layer].Wq[residDim * Hd + head * _c.DHead + headDim] = value;
    }

    /// <summary>W_K: residual dimension → head dimension.</summary>
    public void K(int layer, int head, int residDim, int headDim, float value)
    {
        CheckHead(layer, head, headDim);
        _layers[layer].Wk[residDim * Hd + head * _c.DHead + headDim] = value;
    }

    /// <summary>W_V: residual dimension → head dimension.</summary>
    public void V(int layer, int head, int residDim, int headDim, float value)
    {
        CheckHead(layer, head, headDim);
        _layers[layer].Wv[residDim * Hd + head * _c.DHead + headDim] = value;
    }

    /// <summary>W_O: head dimension → residual dimension.</summary>
    public void O(int layer, int head, int headDim, int residDim, float value)
    {
        CheckHead(layer, head, headDim);
        _layers[layer].Wo[(head * _c.DHead + headDim) * D + residDim] = value;
    }

    /// <summary>MLP up (linear) branch: residual dimension → neuron.</summary>
    public void MlpIn(int layer, int residDim, int neuron, float value) => _layers[layer].WIn[residDim * _c.DMlp + neuron] = value;

    /// <summary>MLP gate (SiLU) branch: residual dimension → neuron.</summary>
    public void MlpGate(int layer, int residDim, int neuron, float value) => _layers[layer].WGate![residDim * _c.DMlp + neuron] = value;

    /// <summary>MLP output: neuron → residual dimension.</summary>
    public void MlpOut(int layer, int neuron, int residDim, float value) => _layers[layer].WOut[neuron * D + residDim] = value;

    /// <summary>
    /// The weights. RMSNorm divides by |x|/√d with |x| ≈ Bias, so norm weights Bias/√d map a signal coordinate
    /// x_i ↦ x_i·Bias/|x| ≈ x_i, and weight 1/√d maps the bias coordinate to Bias/|x| ≈ 1.
    /// </summary>
    public ModelWeights Build()
    {
        var norm = new float[D];
        float sqrtD = MathF.Sqrt(D);
        for (int i = 0; i < D; i++) norm[i] = Bias / sqrtD;
        norm[BiasDim] = 1f / sqrtD;
        return new ModelWeights
        {
            TokenEmbed = _embed,
            PosEmbed = _pos,
            Layers = _layers.Select(l => new LayerWeights
            {
                Ln1Weight = (float[])norm.Clone(),
                Ln2Weight = (float[])norm.Clone(),
                Wq = l.Wq, Wk = l.Wk, Wv = l.Wv, Wo = l.Wo,
                WIn = l.WIn, WGate = l.WGate, WOut = l.WOut,
            }).ToArray(),
            LnFinalWeight = (float[])norm.Clone(),
            Unembed = _unembed,
        };
    }

    /// <summary>
    /// The per-side weight g with which q = g·e_i, k = g·e_j give an attention logit of exactly
    /// <paramref name="logit"/> after the engine's 1/√d_head scaling (g² / √d_head = logit).
    /// </summary>
    public float QkWeight(float logit) => MathF.Sqrt(logit * MathF.Sqrt(_c.DHead));
}
