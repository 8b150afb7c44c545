namespace MechTests.Attribution;

/// <summary>
/// How well an attribution ranks components against activation patching (the ground truth), as the AtP* paper scores
/// methods: Spearman rank correlation of |scores| with |effects|, top-k recall, and the relative cost of verified
/// recall (patching passes, in the attribution's order, until all true top-k are verified, divided by k).
/// </summary>
/// <example><code>
/// var report = AgreementReport.Compute(star.Scores, patching.Effects, topK: 10);
/// Console.WriteLine($"Spearman {report.Spearman:F3}, top-10 recall {report.TopKRecall:P0}, relative cost {report.RelativeCost:F2}");
/// </code></example>
public sealed record AgreementReport(int Count, int TopK, double Spearman, double TopKRecall, int VerificationCost, double RelativeCost,
    IReadOnlyList<string> MissedTopK)
{
    /// <summary>Conventions: both sides ranked by absolute value.</summary>
    public string Conventions => "ranking=|score| vs |patching effect|; ties=average ranks; cost=passes in attribution order until all true top-k are verified; relative=cost/k";

    /// <summary>Compares scores with patching effects over the names both have.</summary>
    public static AgreementReport Compute(IReadOnlyDictionary<string, double> scores, IReadOnlyDictionary<string, double> effects, int topK = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1); // k = 0 has no recall; clamping it hid a caller's mistake
        var names = effects.Keys.Where(scores.ContainsKey).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        if (names.Length == 0) throw new ArgumentException("The attribution and the patching result share no names.");
        int k = Math.Clamp(topK, 1, names.Length);
        var s = names.Select(n => Math.Abs(scores[n])).ToArray();
        var e = names.Select(n => Math.Abs(effects[n])).ToArray();
        double rho = SpearmanCorrelation(s, e);
        var trueTop = names.Select((n, i) => (n, v: e[i])).OrderByDescending(x => x.v).ThenBy(x => x.n, StringComparer.Ordinal).Take(k).Select(x => x.n).ToHashSet();
        var byScore = names.Select((n, i) => (n, v: s[i])).OrderByDescending(x => x.v).ThenBy(x => x.n, StringComparer.Ordinal).Select(x => x.n).ToList();
        var predictedTop = byScore.Take(k).ToHashSet();
        double recall = trueTop.Count(predictedTop.Contains) / (double)k;
        int cost = 0, found = 0;
        foreach (var n in byScore)
        {
            cost++;
            if (trueTop.Contains(n) && ++found == k) break;
        }
        var missed = trueTop.Where(n => !predictedTop.Contains(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        return new AgreementReport(names.Length, k, rho, recall, cost, cost / (double)k, missed);
    }

    /// <summary>Spearman's ρ with average ranks for ties (Pearson correlation of the ranks).</summary>
    public static double SpearmanCorrelation(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var ra = Ranks(a);
        var rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average(), num = 0, da = 0, db = 0;
        for (int i = 0; i < ra.Length; i++)
        {
            num += (ra[i] - ma) * (rb[i] - mb);
            da += (ra[i] - ma) * (ra[i] - ma);
            db += (rb[i] - mb) * (rb[i] - mb);
        }
        return da == 0 || db == 0 ? 0 : num / Math.Sqrt(da * db);
    }

    private static double[] Ranks(IReadOnlyList<double> x)
    {
        var order = Enumerable.Range(0, x.Count).OrderBy(i => x[i]).ToArray();
        var ranks = new double[x.Count];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && x[order[j + 1]] == x[order[i]]) j++;
            double r = (i + j) / 2.0 + 1;
            for (int m = i; m <= j; m++) ranks[order[m]] = r;
            i = j + 1;
        }
        return ranks;
    }
}
