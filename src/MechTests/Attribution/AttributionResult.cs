namespace MechTests.Attribution;

/// <summary>Attribution methods.</summary>
public enum AttributionMethod
{
    /// <summary>Attribution patching: (corrupted − clean) · ∂metric/∂activation at the clean run.</summary>
    AtP,
    /// <summary>AtP* (Kramár et al. 2024): AtP with the QK fix for queries/keys and GradDrop.</summary>
    AtPStar,
    /// <summary>Edge attribution patching: (z_u(corr) − z_u(clean)) · ∂metric/∂in_v.</summary>
    Eap,
    /// <summary>EAP with integrated gradients over the input embeddings.</summary>
    EapIg,
}

/// <summary>How per-pair scores are combined.</summary>
public enum Aggregation
{
    /// <summary><c>signed_mean</c>: mean of the signed per-pair scores (EAP's convention).</summary>
    SignedMean,
    /// <summary><c>abs_mean</c>: mean of per-pair absolute values (AtP*'s convention).</summary>
    AbsMean,
}

/// <summary>Scores of nodes or edges, with the conventions that produced them.</summary>
public sealed class AttributionResult
{
    /// <summary>Creates a result from per-pair scores ([pair][index]).</summary>
    public AttributionResult(AttributionMethod method, Aggregation aggregation, string level, IReadOnlyList<string> names,
        double[][] perPair, IReadOnlyDictionary<string, string>? parameters = null)
    {
        Method = method;
        Aggregation = aggregation;
        Level = level;
        Names = names;
        PerPair = perPair;
        Parameters = parameters ?? new Dictionary<string, string>();
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
            scores[names[i]] = aggregation == Aggregation.SignedMean ? perPair.Average(r => r[i]) : perPair.Average(r => Math.Abs(r[i]));
        Scores = scores;
    }

    /// <summary>The method.</summary>
    public AttributionMethod Method { get; }

    /// <summary>The aggregation over pairs.</summary>
    public Aggregation Aggregation { get; }

    /// <summary><c>node</c>, <c>edge</c>, <c>neuron</c>, <c>qkv</c> (with <c>@position</c> when per position).</summary>
    public string Level { get; }

    /// <summary>Names in graph order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Aggregated score by name.</summary>
    public IReadOnlyDictionary<string, double> Scores { get; }

    /// <summary>Per-pair scores [pair][index] before aggregation (for AtP*: the per-pair GradDrop averages, non-negative).</summary>
    public double[][] PerPair { get; }

    /// <summary>Method parameters (e.g. <c>steps</c>, <c>graddrop_divisor</c>).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>JSON/CLI name of the method.</summary>
    public string MethodName => Method switch
    {
        AttributionMethod.AtP => "atp",
        AttributionMethod.AtPStar => "atp-star",
        AttributionMethod.Eap => "eap",
        _ => "eap-ig",
    };

    /// <summary>JSON name of the aggregation.</summary>
    public string AggregationName => Aggregation == Aggregation.SignedMean ? "signed_mean" : "abs_mean";

    /// <summary>Parses a method name (<c>atp</c>, <c>atp-star</c>, <c>eap</c>, <c>eap-ig</c>).</summary>
    public static AttributionMethod ParseMethod(string s) => s switch
    {
        "atp" => AttributionMethod.AtP,
        "atp-star" or "atp*" => AttributionMethod.AtPStar,
        "eap" => AttributionMethod.Eap,
        "eap-ig" => AttributionMethod.EapIg,
        _ => throw new ArgumentException($"Unknown attribution method '{s}'; expected atp, atp-star, eap or eap-ig."),
    };
}
