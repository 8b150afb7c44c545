using MechTests.Hooks;
using MechTests.Models;
using MechTests.Patching;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MechTests.Semantics;

/// <summary>
/// Direct logit attribution (DLA): how much each component's write to the residual stream at the last position adds to
/// the clean logit difference through the final norm and the unembedding alone (no path through later layers). The
/// final norm is linearised with its scale frozen from the clean run (TransformerLens's convention), so the scores are
/// exact shares: the components' scores plus the constant terms add up to the clean logit difference.
/// </summary>
/// <remarks>
/// score(c) = (P z_c / s) · (w_ln ⊙ u), with z_c the component's write at the last position, P the centring (LayerNorm;
/// identity for RMSNorm), s the clean final residual's norm scale, w_ln the final norm's weight and
/// u = mean W_U[correct] − mean W_U[wrong]. Constants: each attention output bias <c>a{l}.b_O</c>, at neuron granularity
/// each MLP output bias <c>m{l}.b_out</c>, the final norm's bias <c>ln_final.b</c> (b_ln · u) and an unembedding bias
/// <c>unembed.b</c>. Reads the clean run's cache of a <see cref="TaskRuns"/>: no extra forward pass.
/// </remarks>
/// <example><code>
/// using var runs = TaskRuns.Create(engine, task);
/// var dla = DirectLogitAttribution.Run(runs, model.Weights);
/// Console.WriteLine($"a4.h2 writes {dla.Scores["a4.h2"]:F2} of the clean logit difference {dla.MetricClean:F2}");
/// </code></example>
public static class DirectLogitAttribution
{
    /// <summary>What every score means.</summary>
    public const string Conventions =
        "direct logit attribution to the clean logit difference (mean correct − mean wrong answer logit) at the last position; " +
        "final norm linearised with its scale frozen from the clean run (TransformerLens convention); score = (centred write / scale)·(w_ln ⊙ u), " +
        "u = mean W_U[correct] − mean W_U[wrong]; mean over pairs; scores + constants = the clean logit difference";

    /// <summary>Attributes the clean logit difference to every component (or neuron).</summary>
    /// <param name="runs">The task's runs (their clean caches hold every component's write).</param>
    /// <param name="weights">The weights of the model the runs ran on.</param>
    /// <param name="granularity"><see cref="NodeGranularity.Component"/> (<c>input</c>, <c>pos_embed</c>, <c>a{l}.h{h}</c>,
    /// <c>m{l}</c>) or <see cref="NodeGranularity.Neuron"/> (<c>m{l}.n{i}</c> in place of <c>m{l}</c>).</param>
    /// <exception cref="ArgumentException"><see cref="NodeGranularity.QueryKeyValue"/>: a head's q, k and v inputs have no direct path to the logits.</exception>
    public static DlaResult Run(TaskRuns runs, ModelWeights weights, NodeGranularity granularity = NodeGranularity.Component)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (granularity == NodeGranularity.QueryKeyValue)
            throw new ArgumentException("--granularity qkv: a head's q, k and v inputs have no direct path to the logits (only its output does); direct logit attribution is per component or per neuron.");
        var c = runs.Model.Config;
        var readout = new Readout(c, weights);
        bool neurons = granularity == NodeGranularity.Neuron;
        var scores = new Dictionary<string, double>();
        var constants = new Dictionary<string, double>();
        var order = new List<string>();
        void Add(Dictionary<string, double> into, string name, double v)
        {
            if (!into.ContainsKey(name))
            {
                into[name] = 0;
                if (ReferenceEquals(into, scores)) order.Add(name);
            }
            into[name] += v / runs.PairCount;
        }
        int d = c.DModel, h = c.NHeads, m = c.DMlp;
        double metric = 0;
        var neuronSums = new double[]?[c.NLayers];
        foreach (var batch in runs.Batches)
        {
            var cache = batch.Clean.Cache;
            int t = batch.Positions;
            var final = LogitLens.LastRows(cache[HookNames.ResidPost(c.NLayers - 1)], t);
            var embed = LogitLens.LastRows(cache[HookNames.Embed], t);
            var logits = batch.Clean.Logits;
            for (int i = 0; i < batch.Pairs.Length; i++)
            {
                var pair = batch.Pairs[i];
                metric += LogitDiff(logits.Data.AsSpan(((i * t) + t - 1) * c.VocabSize, c.VocabSize), pair) / runs.PairCount;
                double scale = readout.NormScale(final.AsSpan(i * d, d));
                var u = readout.AnswerDirection(pair);
                var dir = readout.ScaledDirection(u, scale);
                Add(scores, "input", readout.Project(embed.AsSpan(i * d, d), dir));
                if (weights.PosEmbed is { } pos) Add(scores, "pos_embed", readout.Project(pos.AsSpan((t - 1) * d, d), dir));
                for (int l = 0; l < c.NLayers; l++)
                {
                    var result = cache[HookNames.Result(l)];
                    for (int k = 0; k < h; k++)
                        Add(scores, $"a{l}.h{k}", readout.Project(result.Data.AsSpan((((i * t) + t - 1) * h + k) * d, d), dir));
                    var lw = weights.Layers[l];
                    if (lw.Bo is { } bo) Add(constants, $"a{l}.b_O", readout.Project(bo, dir));
                    if (!neurons)
                    {
                        Add(scores, $"m{l}", readout.Project(cache[HookNames.MlpOut(l)].Data.AsSpan(((i * t) + t - 1) * d, d), dir));
                        continue;
                    }
                    var post = cache[HookNames.MlpPost(l)].Data.AsSpan(((i * t) + t - 1) * m, m);
                    // Centring is symmetric, so (P w)·dir = w·(P dir): one centred direction, then a float dot per neuron.
                    var centred = CentredFloat(dir, readout.Centers);
                    if (neuronSums[l] == null)
                    {
                        neuronSums[l] = new double[m];
                        for (int n = 0; n < m; n++) Add(scores, $"m{l}.n{n}", 0); // fixes the forward order; summed below
                    }
                    for (int n = 0; n < m; n++)
                        neuronSums[l]![n] += post[n] * (double)TensorPrimitives.Dot(lw.WOut.AsSpan(n * d, d), centred) / runs.PairCount;
                    if (lw.BOut is { } bout) Add(constants, $"m{l}.b_out", readout.Project(bout, dir));
                }
                if (weights.LnFinalBias != null) Add(constants, "ln_final.b", readout.NormBiasTerm(u));
                if (weights.UnembedBias != null) Add(constants, "unembed.b", readout.UnembedBiasTerm(pair));
            }
        }
        for (int l = 0; l < c.NLayers; l++)
            if (neuronSums[l] is { } sums)
                for (int n = 0; n < m; n++) scores[$"m{l}.n{n}"] = sums[n];
        return new DlaResult(granularity == NodeGranularity.Neuron ? "neuron" : "component", metric,
            order.ToDictionary(n => n, n => scores[n]), constants);
    }

    private static float[] CentredFloat(double[] dir, bool centre)
    {
        double mean = centre ? dir.Average() : 0;
        var r = new float[dir.Length];
        for (int j = 0; j < r.Length; j++) r[j] = (float)(dir[j] - mean);
        return r;
    }

    /// <summary>Mean correct − mean wrong logit of one row (the mean correct logit when there is no wrong answer).</summary>
    internal static double LogitDiff(ReadOnlySpan<float> row, Tasks.PromptPair pair)
    {
        double v = 0;
        foreach (int a in pair.Correct) v += row[a] / (double)pair.Correct.Length;
        foreach (int w in pair.Wrong) v -= row[w] / (double)pair.Wrong.Length;
        return v;
    }
}

/// <summary>Direct logit attribution scores (<see cref="DirectLogitAttribution.Run"/>), means over pairs.</summary>
/// <param name="Granularity"><c>component</c> or <c>neuron</c>.</param>
/// <param name="MetricClean">The clean logit difference computed from the model's logits.</param>
/// <param name="Scores">Each component's (or neuron's) score, in forward order.</param>
/// <param name="Constants">The input-independent terms (biases) of the decomposition.</param>
public sealed record DlaResult(string Granularity, double MetricClean, IReadOnlyDictionary<string, double> Scores, IReadOnlyDictionary<string, double> Constants)
{
    /// <summary>The metric attributed: always the logit difference of the task's answers.</summary>
    public string Metric => "logit_diff";

    /// <summary>What every score means (<see cref="DirectLogitAttribution.Conventions"/>).</summary>
    public string Conventions => DirectLogitAttribution.Conventions;

    /// <summary>Σ scores + Σ constants: equals <see cref="MetricClean"/> up to float rounding (the exact identity of DLA).</summary>
    public double Total => Scores.Values.Sum() + Constants.Values.Sum();

    /// <summary>A component's score.</summary>
    /// <exception cref="KeyNotFoundException">No such component, with the names that exist.</exception>
    public double Score(string name) => Scores.TryGetValue(name, out var v) ? v
        : throw new KeyNotFoundException($"No component '{name}' in the direct logit attribution ({Granularity} granularity); components: {string.Join(", ", Scores.Keys.Take(12))}{(Scores.Count > 12 ? ", …" : "")}.");
}
