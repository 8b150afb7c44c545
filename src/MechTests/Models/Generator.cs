using MechTests.Hooks;

namespace MechTests.Models;

/// <summary>Autoregressive decoding: greedy at temperature 0, otherwise seeded sampling.</summary>
/// <example><code>
/// var ids = Generator.Generate(engine, prompt, maxTokens: 50, temperature: 0, stopAt: tokenizer.EosId);
/// </code></example>
public static class Generator
{
    /// <summary>
    /// Appends up to <paramref name="maxTokens"/> tokens to <paramref name="prompt"/>, calling
    /// <paramref name="onToken"/> for each; stops early at <paramref name="stopAt"/> or the context limit.
    /// </summary>
    public static int[] Generate(IModelBackend model, IReadOnlyList<int> prompt, int maxTokens, float temperature = 0,
        int? stopAt = null, int seed = 0, Action<int>? onToken = null)
    {
        if (prompt.Count == 0) throw new ArgumentException("The prompt has no tokens; give at least a BOS token.");
        if (maxTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxTokens), "max-tokens must be ≥ 0.");
        if (temperature < 0 || float.IsNaN(temperature)) throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be ≥ 0.");
        var rng = new Random(seed);
        var tokens = prompt.ToList();
        int vocab = model.Config.VocabSize;
        for (int step = 0; step < maxTokens && tokens.Count < model.Config.MaxPositions; step++)
        {
            using var pass = model.Run(new[] { tokens.ToArray() }, new RunOptions { LastPositionLogitsOnly = true });
            var logits = pass.Logits.Data.AsSpan(0, vocab);
            int next = temperature == 0 ? ArgMax(logits) : Sample(logits, temperature, rng);
            tokens.Add(next);
            onToken?.Invoke(next);
            if (next == stopAt) break;
        }
        return tokens.ToArray();
    }

    private static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    private static int Sample(ReadOnlySpan<float> logits, float temperature, Random rng)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        var p = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += p[i] = Math.Exp((logits[i] - max) / temperature);
        double u = rng.NextDouble() * sum;
        for (int i = 0; i < p.Length; i++)
        {
            u -= p[i];
            if (u <= 0) return i;
        }
        return p.Length - 1;
    }
}
