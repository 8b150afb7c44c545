using MechTests.Attribution;

namespace MechTests.Circuits;

/// <summary>
/// How a circuit is found: the discovery method, the scores it ranks (attribution or exact patching) and its
/// parameters. Everything a spec holds is written into the circuit file's <c>method</c> (name + parameters), and
/// <see cref="FromFile"/> reads it back, so <c>mechtests verify</c> can re-derive a checked-in circuit exactly.
/// </summary>
/// <example><code>
/// var spec = new DiscoverySpec { Method = "greedy", Scores = "eap-ig", N = 30 };
/// var file = CircuitPipeline.Discover(model, task, TaskReference.ToFile(task, "circuits"), spec, EvaluationPlan.Default);
/// var again = DiscoverySpec.FromFile(file);   // the same spec
/// </code></example>
public sealed record DiscoverySpec
{
    /// <summary>Edge-level methods: <c>top-n</c>, <c>threshold</c>, <c>greedy</c>, <c>acdc</c>; node-level: <c>top-n-nodes</c>, <c>threshold-nodes</c>.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["top-n", "threshold", "greedy", "acdc", "top-n-nodes", "threshold-nodes"];

    /// <summary>Edge scores: <c>eap</c>, <c>eap-ig</c>, <c>atp-star</c>, <c>edge-patching</c>.</summary>
    public static IReadOnlyList<string> EdgeScoreSources { get; } = ["eap", "eap-ig", "atp-star", "edge-patching"];

    /// <summary>Node scores (heads and MLPs): <c>atp</c>, <c>atp-star</c>, <c>node-patching</c>.</summary>
    public static IReadOnlyList<string> NodeScoreSources { get; } = ["atp", "atp-star", "node-patching"];

    /// <summary>The discovery method (one of <see cref="Methods"/>).</summary>
    public required string Method { get; init; }

    /// <summary>Where the ranked scores come from (null for ACDC, which measures as it goes).</summary>
    public string? Scores { get; init; }

    /// <summary>
    /// Aggregation over pairs: <see cref="Attribution.Aggregation.SignedMean"/> or <see cref="Attribution.Aggregation.AbsMean"/>;
    /// null takes the source's convention (signed for EAP, EAP-IG and patching; absolute for AtP and AtP*, whose
    /// GradDrop term is defined on absolute values).
    /// </summary>
    public Aggregation? Aggregation { get; init; }

    /// <summary>Components to keep (<c>top-n</c>, <c>greedy</c>, <c>top-n-nodes</c>).</summary>
    public int? N { get; init; }

    /// <summary>Threshold τ (<c>threshold</c>, <c>threshold-nodes</c>, <c>acdc</c>).</summary>
    public double? Tau { get; init; }

    /// <summary>How scores are ranked (said explicitly in the file).</summary>
    public ScoreRanking Ranking { get; init; } = ScoreRanking.Absolute;

    /// <summary>EAP-IG interpolation steps m.</summary>
    public int Steps { get; init; } = 5;

    /// <summary>What ACDC measures.</summary>
    public AcdcMetric AcdcMetric { get; init; } = AcdcMetric.Task;

    /// <summary>Whether the method picks nodes (heads/MLPs) rather than edges.</summary>
    public bool IsNodeLevel => Method.EndsWith("-nodes", StringComparison.Ordinal);

    /// <summary>The aggregation actually used.</summary>
    public Aggregation EffectiveAggregation => Aggregation ?? (Scores is "atp" or "atp-star" ? Attribution.Aggregation.AbsMean : Attribution.Aggregation.SignedMean);

    /// <summary>Throws <see cref="ArgumentException"/> naming the field when the spec cannot run.</summary>
    public DiscoverySpec Validate()
    {
        if (!Methods.Contains(Method))
            throw new ArgumentException($"method '{Method}' is unknown; expected one of {string.Join(", ", Methods)}.");
        if (Method == "acdc")
        {
            if (Tau is not double t || double.IsNaN(t) || t < 0) throw new ArgumentException("method acdc needs tau ≥ 0 (e.g. 0.02).");
            return this;
        }
        var sources = IsNodeLevel ? NodeScoreSources : EdgeScoreSources;
        if (Scores == null || !sources.Contains(Scores))
            throw new ArgumentException($"method {Method} needs scores: one of {string.Join(", ", sources)}{(Scores == null ? "" : $" (got '{Scores}')")}.");
        if (Scores == "atp-star" && Aggregation == Attribution.Aggregation.SignedMean)
            throw new ArgumentException("scores atp-star are always abs_mean (GradDrop is a sum of absolute values); drop the signed_mean aggregation.");
        bool needsN = Method is "top-n" or "greedy" or "top-n-nodes";
        if (needsN && (N is not int n || n < 0)) throw new ArgumentException($"method {Method} needs n ≥ 0 components.");
        if (!needsN && (Tau is not double tau || double.IsNaN(tau))) throw new ArgumentException($"method {Method} needs a threshold tau.");
        if (Steps < 1) throw new ArgumentException($"steps = {Steps}; EAP-IG needs at least 1 step.");
        return this;
    }

    /// <summary>Parameters the file records beyond the discovery method's own: the score source with its aggregation, and EAP-IG's steps.</summary>
    public IReadOnlyDictionary<string, string> ScoreParameters()
    {
        var p = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Scores == null) return p;
        p["scores"] = $"{Scores}/{(EffectiveAggregation == Attribution.Aggregation.SignedMean ? "signed_mean" : "abs_mean")}";
        if (Scores == "eap-ig") p["steps"] = Invariant.I(Steps);
        return p;
    }

    /// <summary>The spec recorded in a circuit file's <c>method</c>; throws naming the file and parameter when it cannot be read.</summary>
    public static DiscoverySpec FromFile(CircuitFile file)
    {
        var spec = ReadParameters(file, file.Method);
        try
        {
            return spec.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{file.SourcePath ?? "circuit"}: method: {e.Message}", e);
        }
    }

    /// <summary>
    /// The edge scores a file says it ranked (its <c>scores</c> parameter) as a spec that computes just them, or null
    /// when it names none this library computes — e.g. to draw the faithfulness curves of a hand-made circuit.
    /// </summary>
    public static DiscoverySpec? EdgeScoresOf(CircuitFile file)
    {
        if (file.Circuit.Level != CircuitLevel.Edge) return null;
        var spec = ReadParameters(file, "top-n") with { N = 0 };
        return spec.Scores != null && EdgeScoreSources.Contains(spec.Scores) ? spec : null;
    }

    private static DiscoverySpec ReadParameters(CircuitFile file, string method)
    {
        string where = file.SourcePath ?? "circuit";
        var p = file.Parameters;
        string? Get(string key) => p.TryGetValue(key, out var v) ? v : null;
        T Parse<T>(string key, Func<string, T> parse)
        {
            string text = Get(key) ?? throw new InvalidDataException($"{where}: method.parameters.{key} is missing; method '{file.Method}' needs it.");
            try { return parse(text); }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new InvalidDataException($"{where}: method.parameters.{key} = '{text}' cannot be read: {e.Message}");
            }
        }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string? scores = null;
        Aggregation? aggregation = null;
        if (Get("scores") is string s)
        {
            int slash = s.IndexOf('/');
            scores = slash < 0 ? s : s[..slash];
            aggregation = slash < 0 ? null : s[(slash + 1)..] switch
            {
                "signed_mean" => Attribution.Aggregation.SignedMean,
                "abs_mean" => Attribution.Aggregation.AbsMean,
                var a => throw new InvalidDataException($"{where}: method.parameters.scores aggregation '{a}' is unknown; expected signed_mean or abs_mean."),
            };
        }
        return new DiscoverySpec
        {
            Method = method,
            Scores = scores,
            Aggregation = aggregation,
            N = Get("n") != null ? Parse("n", t => int.Parse(t, inv)) : null,
            Tau = Get("tau") != null ? Parse("tau", t => double.Parse(t, inv)) : null,
            Ranking = Get("ranking") != null ? Parse("ranking", ScoreRankings.Parse) : ScoreRanking.Absolute,
            Steps = Get("steps") != null ? Parse("steps", t => int.Parse(t, inv)) : 5,
            AcdcMetric = Get("metric") == "kl" ? AcdcMetric.Kl : AcdcMetric.Task,
        };
    }

    /// <summary>Whether a file's method is one this library can re-derive (others, e.g. <c>manual</c>, keep their members and are re-measured only).</summary>
    public static bool IsDerivable(CircuitFile file) => Methods.Contains(file.Method);
}
