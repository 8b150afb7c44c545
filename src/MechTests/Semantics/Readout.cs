using MechTests.Models;
using MechTests.Tasks;
using MechTests.Tensors;

namespace MechTests.Semantics;

/// <summary>
/// Reads residual-stream vectors the way the model's head does: through the final norm (LayerNorm or RMSNorm, with its
/// weight and bias) and the unembedding. The logit lens and direct logit attribution are built on it. All sums are in
/// double precision.
/// </summary>
/// <example><code>
/// var readout = new Readout(model.Config, model.Weights);
/// double s = readout.NormScale(resid);                       // √(var + ε) for LayerNorm, √(mean x² + ε) for RMSNorm
/// double[] u = readout.AnswerDirection(pair);                // mean W_U[correct] − mean W_U[wrong]
/// </code></example>
public sealed class Readout
{
    private readonly ModelConfig _config;
    private readonly ModelWeights _weights;

    /// <summary>A readout of <paramref name="weights"/> (the final norm and unembedding are used, never copied).</summary>
    /// <exception cref="ArgumentException">The weights do not have the config's shape.</exception>
    public Readout(ModelConfig config, ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.LnFinalWeight.Length != config.DModel || weights.Unembed.Length != (long)config.VocabSize * config.DModel)
            throw new ArgumentException($"The weights' final norm ({weights.LnFinalWeight.Length}) or unembedding ({weights.Unembed.Length}) does not match d_model {config.DModel} × vocab {config.VocabSize}.", nameof(weights));
        _config = config;
        _weights = weights;
    }

    /// <summary>The model's shape.</summary>
    public ModelConfig Config => _config;

    /// <summary>True when the final norm subtracts the mean (LayerNorm); RMSNorm does not.</summary>
    public bool Centers => _config.Norm == NormKind.LayerNorm;

    /// <summary>
    /// The final norm's scale of a residual vector: √(mean (x − x̄)² + ε) for LayerNorm, √(mean x² + ε) for RMSNorm.
    /// The norm's output is <c>P x / scale ⊙ w + b</c> with P the centring (identity for RMSNorm).
    /// </summary>
    public double NormScale(ReadOnlySpan<float> x)
    {
        double mean = 0;
        if (Centers)
        {
            foreach (float v in x) mean += v;
            mean /= x.Length;
        }
        double ss = 0;
        foreach (float v in x) ss += (v - mean) * (v - mean);
        return Math.Sqrt(ss / x.Length + _config.NormEps);
    }

    /// <summary>
    /// The unembedding direction of a pair's logit difference, u = mean over correct answers of W_U[a] − mean over
    /// wrong answers of W_U[w] (length d_model): logit_diff = final_norm(x) · u (+ the unembedding bias difference).
    /// </summary>
    public double[] AnswerDirection(PromptPair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        int d = _config.DModel;
        var u = new double[d];
        void Add(int[] ids, double sign)
        {
            foreach (int id in ids)
                for (int j = 0; j < d; j++) u[j] += sign / ids.Length * _weights.Unembed[(long)id * d + j];
        }
        Add(pair.Correct, 1);
        if (pair.Wrong.Length > 0) Add(pair.Wrong, -1);
        return u;
    }

    /// <summary>
    /// The direction a component's (centred) write is dotted with in direct logit attribution: w_ln ⊙ u / scale.
    /// </summary>
    public double[] ScaledDirection(double[] answerDirection, double scale)
    {
        ArgumentNullException.ThrowIfNull(answerDirection);
        var r = new double[answerDirection.Length];
        for (int j = 0; j < r.Length; j++) r[j] = _weights.LnFinalWeight[j] * answerDirection[j] / scale;
        return r;
    }

    /// <summary>(P v) · direction: a vector's contribution along a scaled direction, centred first for LayerNorm.</summary>
    public double Project(ReadOnlySpan<float> v, double[] direction)
    {
        ArgumentNullException.ThrowIfNull(direction);
        double mean = 0;
        if (Centers)
        {
            foreach (float x in v) mean += x;
            mean /= v.Length;
        }
        double s = 0;
        for (int j = 0; j < v.Length; j++) s += (v[j] - mean) * direction[j];
        return s;
    }

    /// <summary>The logit difference's constant part from the final norm's bias: b_ln · u (0 without a bias).</summary>
    public double NormBiasTerm(double[] answerDirection)
    {
        ArgumentNullException.ThrowIfNull(answerDirection);
        if (_weights.LnFinalBias is not { } b) return 0;
        double s = 0;
        for (int j = 0; j < b.Length; j++) s += b[j] * answerDirection[j];
        return s;
    }

    /// <summary>The logit difference's constant part from an unembedding bias (rare; 0 without one).</summary>
    public double UnembedBiasTerm(PromptPair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        if (_weights.UnembedBias is not { } b) return 0;
        double s = 0;
        foreach (int c in pair.Correct) s += b[c] / (double)pair.Correct.Length;
        foreach (int w in pair.Wrong) s -= b[w] / (double)pair.Wrong.Length;
        return s;
    }

    /// <summary>
    /// Logits [rows, V] of residual vectors [rows, d] read through the final norm (each row with its own scale) and
    /// the unembedding (+ its bias): what the model would predict if the residual stream stopped there.
    /// </summary>
    public Tensor Logits(float[] resid, int rows)
    {
        ArgumentNullException.ThrowIfNull(resid);
        int d = _config.DModel, vocab = _config.VocabSize;
        if (resid.Length != rows * d) throw new ArgumentException($"{resid.Length} floats for {rows} rows of d_model {d}.", nameof(resid));
        var normed = new float[rows * d];
        for (int r = 0; r < rows; r++)
        {
            var x = resid.AsSpan(r * d, d);
            double mean = 0;
            if (Centers)
            {
                foreach (float v in x) mean += v;
                mean /= d;
            }
            double scale = NormScale(x);
            for (int j = 0; j < d; j++)
                normed[r * d + j] = (float)((x[j] - mean) / scale * _weights.LnFinalWeight[j] + (_weights.LnFinalBias?[j] ?? 0));
        }
        var logits = new Tensor(rows, 1, vocab);
        Gemm.Multiply(normed, d, false, _weights.Unembed, d, true, logits.Data, vocab, rows, vocab, d);
        if (_weights.UnembedBias is { } ub)
            for (int r = 0; r < rows; r++)
                for (int v = 0; v < vocab; v++) logits.Data[r * vocab + v] += ub[v];
        return logits;
    }
}
