namespace MechTests.Tasks;

/// <summary>The scalar a task measures at the answer position (the last token), averaged over pairs.</summary>
public enum MetricKind
{
    /// <summary><c>logit_diff</c>: mean logit of the correct answers − mean logit of the wrong answers.</summary>
    LogitDiff,
    /// <summary><c>prob_diff</c>: Σ p(correct) − Σ p(wrong) (greater-than style answer sets).</summary>
    ProbDiff,
    /// <summary><c>kl</c>: KL(p_clean ‖ p_run) of the next-token distribution (0 on the clean run).</summary>
    KlDivergence,
    /// <summary><c>logprob</c>: log Σ p(correct).</summary>
    LogProb,
}

/// <summary>JSON names of metrics.</summary>
public static class MetricNames
{
    /// <summary>The JSON/CLI name of a metric.</summary>
    public static string Of(MetricKind kind) => kind switch
    {
        MetricKind.LogitDiff => "logit_diff",
        MetricKind.ProbDiff => "prob_diff",
        MetricKind.KlDivergence => "kl",
        MetricKind.LogProb => "logprob",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses a JSON/CLI metric name; null when unknown.</summary>
    public static MetricKind? Parse(string name) => name switch
    {
        "logit_diff" => MetricKind.LogitDiff,
        "prob_diff" => MetricKind.ProbDiff,
        "kl" => MetricKind.KlDivergence,
        "logprob" => MetricKind.LogProb,
        _ => null,
    };

    /// <summary>All names, for error messages.</summary>
    public const string All = "logit_diff, prob_diff, kl, logprob";
}
