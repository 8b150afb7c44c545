using MechTests.Attribution;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>Formats an <see cref="AgreementReport"/> as Spearman, top-k recall, relative cost and the true top-k it missed.</summary>
internal sealed class AgreementReportFormatter : TypedFormatter<AgreementReport>
{
    public static string Describe(AgreementReport r)
        => $"Spearman {Num.G(r.Spearman)}, top-{Num.I(r.TopK)} recall {Num.G(r.TopKRecall)}, relative cost {Num.G(r.RelativeCost)} over {Num.I(r.Count)} components; "
           + $"missed true top-{Num.I(r.TopK)}: {(r.MissedTopK.Count == 0 ? "none" : string.Join(", ", r.MissedTopK))}";

    protected override IReadOnlyList<string> Lines(AgreementReport r, bool lineBreaks) => [Describe(r)];
}
