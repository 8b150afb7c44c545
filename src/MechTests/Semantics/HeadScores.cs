using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;

namespace MechTests.Semantics;

/// <summary>
/// The standard attention-head scores, one value per head, each a mean attention probability over sequences and query
/// positions (TransformerLens's definitions):
/// <list type="bullet">
/// <item><b>previous-token</b>: A[p, p−1] over query positions p ≥ 1;</item>
/// <item><b>induction</b>: on sequences <c>prefix + R + R</c> (R random, period L), A[p, p−L+1] over the repeated half —
/// attention to the token after the current token's previous occurrence;</item>
/// <item><b>duplicate-token</b>: on the same sequences, A[p, p−L] over the repeated half — attention to the previous
/// occurrence itself;</item>
/// <item><b>attention to a position</b>: the last query position's A[last, position_b], one named position per prompt.</item>
/// </list>
/// One forward pass per distinct prompt length, caching only the attention patterns.
/// </summary>
/// <example><code>
/// var repeats = RepeatedTokens.Generate(model.Config, period: 20, count: 16, seed: 0);
/// HeadScoreTable induction = HeadScores.Induction(engine, repeats);
/// Console.WriteLine($"best induction head {induction.Best.Name}: {induction.Best.Score:F2}");
/// </code></example>
public static class HeadScores
{
    /// <summary>Previous-token score of every head on <paramref name="prompts"/> (any lengths ≥ 2).</summary>
    public static HeadScoreTable PreviousToken(IModelBackend model, IReadOnlyList<int[]> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return Score(model, prompts, "previous_token", "mean attention probability from each position p ≥ 1 to p − 1, over prompts and positions",
            (b, t) => Enumerable.Range(1, t - 1).Select(p => (p, p - 1)));
    }

    /// <summary>Induction score of every head on repeated random tokens.</summary>
    public static HeadScoreTable Induction(IModelBackend model, RepeatedTokens repeats)
    {
        ArgumentNullException.ThrowIfNull(repeats);
        return Score(model, repeats.Sequences, "induction",
            $"mean attention probability from each position p of the repeated half to p − {repeats.Period} + 1 (the token after the previous occurrence), on {repeats.Sequences.Count} random sequences repeated once (period {repeats.Period}, prefix {repeats.PrefixLength})",
            (b, t) => repeats.RepeatedHalf().Select(p => (p, p - repeats.Period + 1)));
    }

    /// <summary>Duplicate-token score of every head on repeated random tokens.</summary>
    public static HeadScoreTable DuplicateToken(IModelBackend model, RepeatedTokens repeats)
    {
        ArgumentNullException.ThrowIfNull(repeats);
        return Score(model, repeats.Sequences, "duplicate_token",
            $"mean attention probability from each position p of the repeated half to p − {repeats.Period} (the previous occurrence of the same token), on {repeats.Sequences.Count} random sequences repeated once (period {repeats.Period}, prefix {repeats.PrefixLength})",
            (b, t) => repeats.RepeatedHalf().Select(p => (p, p - repeats.Period)));
    }

    /// <summary>
    /// Attention from each prompt's last position to a named position (e.g. where the name token is), per head.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="prompts">The prompts.</param>
    /// <param name="positions">One key position per prompt (0-based, before the last position).</param>
    /// <param name="positionName">What the position is, for the conventions (e.g. "the name token").</param>
    /// <exception cref="ArgumentException">The counts differ or a position is outside its prompt.</exception>
    public static HeadScoreTable AttentionToPosition(IModelBackend model, IReadOnlyList<int[]> prompts, IReadOnlyList<int> positions, string positionName = "the named position")
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(positions);
        if (prompts.Count != positions.Count) throw new ArgumentException($"{prompts.Count} prompts but {positions.Count} positions.", nameof(positions));
        for (int i = 0; i < prompts.Count; i++)
            if (positions[i] < 0 || positions[i] >= prompts[i].Length)
                throw new ArgumentException($"prompt {i}: position {positions[i]} is outside its {prompts[i].Length} tokens.", nameof(positions));
        return Score(model, prompts, "attention_to_position", $"mean attention probability from the last position to {positionName}, over prompts",
            (b, t) => new[] { (t - 1, positions[b]) });
    }

    /// <summary>
    /// Attention patterns [H, p, p] of every layer for one prompt (row = query, column = key), as the
    /// <c>attention</c> command prints them.
    /// </summary>
    public static IReadOnlyList<Tensor> Patterns(IModelBackend model, int[] prompt)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        var c = model.Config;
        var names = Enumerable.Range(0, c.NLayers).Select(HookNames.Pattern).ToArray();
        using var pass = model.Run(new[] { prompt }, new RunOptions { Cache = HookFilter.Only(names), LastPositionLogitsOnly = true });
        return names.Select(n =>
        {
            var a = pass.Cache[n];
            return new Tensor((float[])a.Data.Clone(), a.Shape[1], a.Shape[2], a.Shape[3]);
        }).ToArray();
    }

    private static HeadScoreTable Score(IModelBackend model, IReadOnlyList<int[]> prompts, string kind, string conventions,
        Func<int, int, IEnumerable<(int Query, int Key)>> entries)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (prompts.Count == 0) throw new ArgumentException("No prompts to score heads on.", nameof(prompts));
        var c = model.Config;
        var names = Enumerable.Range(0, c.NLayers).Select(HookNames.Pattern).ToArray();
        var sum = new double[c.NLayers, c.NHeads];
        long count = 0;
        foreach (var group in prompts.Select((p, i) => (p, i)).GroupBy(x => x.p.Length))
        {
            var rows = group.ToArray();
            int t = group.Key;
            using var pass = model.Run(rows.Select(r => r.p).ToArray(), new RunOptions { Cache = HookFilter.Only(names), LastPositionLogitsOnly = true });
            for (int b = 0; b < rows.Length; b++)
            {
                var cells = entries(rows[b].i, t).ToArray();
                if (cells.Length == 0) throw new ArgumentException($"prompt {rows[b].i} ({t} tokens) has no position to score {kind} on.", nameof(prompts));
                count += cells.Length;
                for (int l = 0; l < c.NLayers; l++)
                {
                    var a = pass.Cache[names[l]].Data;
                    for (int h = 0; h < c.NHeads; h++)
                        foreach (var (q, k) in cells)
                            sum[l, h] += a[(((long)b * c.NHeads + h) * t + q) * t + k];
                }
            }
        }
        var scores = new double[c.NLayers, c.NHeads];
        for (int l = 0; l < c.NLayers; l++)
            for (int h = 0; h < c.NHeads; h++) scores[l, h] = sum[l, h] / count;
        return new HeadScoreTable(kind, conventions, scores);
    }
}

/// <summary>One score per attention head (<see cref="HeadScores"/>).</summary>
/// <example><code>
/// double s = table["a1.h4"];
/// foreach (var (name, score) in table.Ranked().Take(3)) Console.WriteLine($"{name} {score:F2}");
/// </code></example>
public sealed class HeadScoreTable
{
    private readonly double[,] _scores;

    /// <summary>A table of scores [layer, head].</summary>
    public HeadScoreTable(string kind, string conventions, double[,] scores)
    {
        Kind = kind;
        Conventions = conventions;
        _scores = scores ?? throw new ArgumentNullException(nameof(scores));
    }

    /// <summary><c>previous_token</c>, <c>induction</c>, <c>duplicate_token</c> or <c>attention_to_position</c>.</summary>
    public string Kind { get; }

    /// <summary>How the score was measured.</summary>
    public string Conventions { get; }

    /// <summary>Number of layers.</summary>
    public int Layers => _scores.GetLength(0);

    /// <summary>Heads per layer.</summary>
    public int Heads => _scores.GetLength(1);

    /// <summary>The score of head <paramref name="head"/> in layer <paramref name="layer"/>.</summary>
    public double this[int layer, int head] => _scores[layer, head];

    /// <summary>The score of a head named <c>a{l}.h{h}</c>.</summary>
    /// <exception cref="ArgumentException">Not a head name of this model.</exception>
    public double this[string head]
    {
        get
        {
            var (l, h) = ParseHead(head, Layers, Heads);
            return _scores[l, h];
        }
    }

    /// <summary>Every head with its score, highest first (ties in forward order).</summary>
    public IEnumerable<(string Name, double Score)> Ranked()
        => Enumerable.Range(0, Layers).SelectMany(l => Enumerable.Range(0, Heads).Select(h => ($"a{l}.h{h}", _scores[l, h])))
            .OrderByDescending(x => x.Item2);

    /// <summary>The highest-scoring head.</summary>
    public (string Name, double Score) Best => Ranked().First();

    /// <summary>Parses <c>a{l}.h{h}</c>.</summary>
    /// <exception cref="ArgumentException">Malformed, or outside a model of <paramref name="layers"/> × <paramref name="heads"/>.</exception>
    public static (int Layer, int Head) ParseHead(string name, int layers, int heads)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Split('.');
        if (parts.Length == 2 && parts[0].StartsWith('a') && parts[1].StartsWith('h')
            && int.TryParse(parts[0].AsSpan(1), out int l) && int.TryParse(parts[1].AsSpan(1), out int h)
            && l >= 0 && l < layers && h >= 0 && h < heads)
            return (l, h);
        throw new ArgumentException($"'{name}' is not a head of this model: expected a{{layer}}.h{{head}} with layer 0..{layers - 1} and head 0..{heads - 1}.");
    }
}

/// <summary>
/// Random token sequences each repeated once, <c>prefix + R + R</c>, for induction and duplicate-token scores. The
/// prefix is the model's BOS token when it has one (as TransformerLens prepends it); R is uniform over the vocabulary
/// without the BOS/EOS ids, from a seeded <see cref="Random"/> (deterministic across runs and machines).
/// </summary>
/// <param name="Sequences">The sequences (length prefix + 2·period).</param>
/// <param name="PrefixLength">Tokens before the first copy of R.</param>
/// <param name="Period">|R|.</param>
public sealed record RepeatedTokens(IReadOnlyList<int[]> Sequences, int PrefixLength, int Period)
{
    /// <summary>Seeded random repeats for a model.</summary>
    /// <exception cref="ArgumentException">A non-positive count or period, or sequences longer than the model's context.</exception>
    public static RepeatedTokens Generate(ModelConfig config, int period = 20, int count = 16, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (period < 2 || count < 1) throw new ArgumentException($"period must be ≥ 2 and count ≥ 1 (got {period}, {count}).");
        var prefix = config.BosTokenId is int bos ? new[] { bos } : Array.Empty<int>();
        if (prefix.Length + 2 * period > config.MaxPositions)
            throw new ArgumentException($"period {period}: {prefix.Length + 2 * period} tokens exceed the model's {config.MaxPositions} positions.");
        var special = new HashSet<int>(new[] { config.BosTokenId, config.EosTokenId }.Where(x => x.HasValue).Select(x => x!.Value));
        var allowed = Enumerable.Range(0, config.VocabSize).Where(i => !special.Contains(i)).ToArray();
        var rng = new Random(seed);
        var seqs = new int[count][];
        for (int s = 0; s < count; s++)
        {
            var r = new int[period];
            for (int i = 0; i < period; i++) r[i] = allowed[rng.Next(allowed.Length)];
            seqs[s] = prefix.Concat(r).Concat(r).ToArray();
        }
        return new RepeatedTokens(seqs, prefix.Length, period);
    }

    /// <summary>The query positions of the second copy of R.</summary>
    public IEnumerable<int> RepeatedHalf() => Enumerable.Range(PrefixLength + Period, Period);
}
