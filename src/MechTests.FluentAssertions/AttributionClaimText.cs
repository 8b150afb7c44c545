using System.Text;
using MechTests.Attribution;
using MechTests.Patching;

namespace MechTests.FluentAssertions;

/// <summary>The details of failed attribution claims.</summary>
internal static class AttributionClaimText
{
    public static string Conventions(AttributionResult a) => $"attribution method={a.MethodName}; aggregation={a.AggregationName}; level={a.Level}";

    public static string Agreement(AttributionResult a, PatchingResult patching, AgreementReport r, double spearmanAtLeast, double recallAtLeast)
    {
        var s = new StringBuilder();
        var problems = new List<string>();
        if (!(r.Spearman >= spearmanAtLeast)) problems.Add($"Spearman = {Num.G(r.Spearman)} (required ≥ {Num.G(spearmanAtLeast)})");
        if (!(r.TopKRecall >= recallAtLeast)) problems.Add($"top-{Num.I(r.TopK)} recall = {Num.G(r.TopKRecall)} (required ≥ {Num.G(recallAtLeast)})");
        s.Append(string.Join(" and ", problems)).Append('.');
        s.Append($"\n  Measured over {Num.I(r.Count)} components: Spearman {Num.G(r.Spearman)}, top-{Num.I(r.TopK)} recall {Num.G(r.TopKRecall)}, relative cost {Num.G(r.RelativeCost)} ({Num.I(r.VerificationCost)} patching passes in attribution order to verify all of the true top {Num.I(r.TopK)}; oracle {Num.I(r.TopK)}).");
        s.Append($"\n  Conventions: {Conventions(a)}; patching {patching.Conventions}; metric={patching.Metric}; {r.Conventions}.");
        if (r.MissedTopK.Count > 0)
        {
            var shared = patching.Effects.Keys.Where(a.Scores.ContainsKey).ToList();
            var rank = shared.OrderByDescending(n => Math.Abs(a.Scores[n])).ThenBy(n => n, StringComparer.Ordinal)
                .Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i + 1, StringComparer.Ordinal);
            s.Append($"\n  True top-{Num.I(r.TopK)} components (by |patching effect|) the attribution ranked below its top {Num.I(r.TopK)}, largest effect first:");
            foreach (var n in r.MissedTopK.OrderByDescending(n => Math.Abs(patching.Effects[n])).ThenBy(n => n, StringComparer.Ordinal))
                s.Append($"\n    {n}  patching effect {Num.G(patching.Effects[n])}  attribution score {Num.G(a.Scores[n])}  rank {Num.I(rank[n])} of {Num.I(shared.Count)}");
        }
        return s.ToString();
    }

    public static string MissedEffects(MissedEffectReport r, double fraction)
    {
        var s = new StringBuilder();
        var misses = r.Misses;
        var problems = new List<string>();
        if (misses.Count > 0) problems.Add($"{Num.I(misses.Count)} component(s) outside the verified top {Num.I(r.Verified)} have |effect| ≥ {Num.G(r.EffectThreshold)}");
        double bound = r.Bound;
        if (!double.IsNaN(bound) && bound > fraction)
            problems.Add($"the bound is {Num.G(bound)} (required ≤ {Num.G(fraction)}) with k = {Num.I(r.Sampled.Count)} samples");
        s.Append(string.Join(" and ", problems)).Append('.');
        s.Append($"\n  Pool: {Num.I(r.PoolSize)} of {Num.I(r.Components)} components (outside the attribution's top {Num.I(r.Verified)} by |score|).");
        var largest = r.LargestSampled;
        s.Append(r.Exhaustive
            ? $"\n  Uniform sample: the whole pool was patched exactly; fraction with |effect| ≥ θ: {Num.G(bound)}."
            : $"\n  Uniform sample: {Num.I(r.Sampled.Count)} patched exactly; zero-failure bound 1 − α^(1/k) = {(double.IsNaN(bound) ? "not applicable (a sampled member failed)" : Num.G(bound))}.");
        if (largest != null) s.Append($" Largest sampled |effect|: {Num.G(Math.Abs(largest.Effect))} ({largest.Name}).");
        if (r.Subsets > 0)
            s.Append($"\n  Subsampling screen: {Num.I(r.Subsets)} random subsets (p = {Num.G(r.InclusionProbability)}); suspects by |ĉ_SS| patched exactly: "
                     + string.Join(", ", r.Suspects.Select(m => $"{m.Name} (ĉ_SS {Num.G(m.SubsamplingEstimate)}, effect {Num.G(m.Effect)})")) + ".");
        if (misses.Count > 0)
        {
            s.Append("\n  Missed effects, largest first:");
            foreach (var m in misses.Take(2 * CircuitClaimText.Listed))
                s.Append($"\n    {m.Name}  effect {Num.G(m.Effect)}  attribution score {Num.G(m.Score)}  rank {Num.I(m.Rank)} of {Num.I(r.Components)}  ({m.FoundBy})");
        }
        if (!r.Exhaustive && fraction > 0 && fraction < 1)
            s.Append($"\n  A bound ≤ {Num.G(fraction)} at confidence {Num.G(r.Confidence)} needs k ≥ {Num.I(MissedEffectReport.SamplesFor(fraction, r.Confidence))} samples without a failure.");
        s.Append($"\n  Conventions: attribution method={r.Method}; level={r.Level}; {r.Conventions}.");
        return s.ToString();
    }
}
