namespace MechTests.Circuits;

/// <summary>How scores are ordered when components are ranked. Always recorded with the result it produced.</summary>
public enum ScoreRanking
{
    /// <summary><c>absolute</c>: by |score|, largest first (MIB's ranking for CMD; the usual choice for top-n).</summary>
    Absolute,
    /// <summary><c>signed</c>: by score, most positive first (MIB's ranking for CPR).</summary>
    Signed,
}

/// <summary>Names and ordering helpers for <see cref="ScoreRanking"/>.</summary>
public static class ScoreRankings
{
    /// <summary>The JSON name: <c>absolute</c> or <c>signed</c>.</summary>
    public static string Name(this ScoreRanking ranking) => ranking == ScoreRanking.Absolute ? "absolute" : "signed";

    /// <summary>Parses <c>absolute</c> / <c>signed</c>.</summary>
    public static ScoreRanking Parse(string name) => name switch
    {
        "absolute" or "abs" => ScoreRanking.Absolute,
        "signed" => ScoreRanking.Signed,
        _ => throw new ArgumentException($"Unknown score ranking '{name}'; expected absolute or signed."),
    };

    /// <summary>The key a component is ranked by (higher ranks first); NaN ranks last.</summary>
    public static double Key(this ScoreRanking ranking, double score)
        => double.IsNaN(score) ? double.NegativeInfinity : ranking == ScoreRanking.Absolute ? Math.Abs(score) : score;

    /// <summary>
    /// Indices of <paramref name="scores"/> ordered by rank, ties broken by index (graph order), so rankings are
    /// deterministic whatever the sort algorithm.
    /// </summary>
    public static int[] Order(this ScoreRanking ranking, IReadOnlyList<double> scores)
    {
        var idx = Enumerable.Range(0, scores.Count).ToArray();
        var keys = scores.Select(s => ranking.Key(s)).ToArray();
        Array.Sort(idx, (a, b) =>
        {
            int c = keys[b].CompareTo(keys[a]);
            return c != 0 ? c : a.CompareTo(b);
        });
        return idx;
    }
}
