using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MechTests.Examples.TorchSharp;

/// <summary>
/// The training recipe of models/torchsharp-induction (its README has the command): batches of <c>[BOS, P, A, G, A]</c>
/// with A a run of 4–12 distinct random tokens and P, G random tokens filling the other positions at random, trained with <c>torch.optim.Adam</c> on the cross-entropy of the repeated half
/// only — the one place where looking back (induction) pays; a loss over every position mostly learns unigram statistics
/// and induction forms much later. Fine-tuning uses the same loop on <c>[BOS, P, A, G, C]</c> (C a fresh run), where copying
/// is wrong.
/// </summary>
public static class InductionTraining
{
    /// <summary>The model's shape: vocabulary 48 (BOS = 0), d_model 64, 4 heads, 2 layers, 32 positions.</summary>
    public static Models.ModelConfig Config => TinyGpt.Shape(vocab: 48, dModel: 64, layers: 2, heads: 4, positions: 32);

    /// <summary>n distinct tokens from 1..vocab−1 (0 is BOS).</summary>
    public static int[] Run(Random rng, int n, int vocab, IReadOnlyCollection<int>? avoid = null)
    {
        var pool = Enumerable.Range(1, vocab - 1).Where(t => avoid is null || !avoid.Contains(t)).ToArray();
        rng.Shuffle(pool);
        return pool[..n];
    }

    /// <summary>
    /// One batch of b sequences <c>[BOS, P, A, G, A]</c> (or <c>[BOS, P, A, G, C]</c> when <paramref name="repeat"/> is
    /// false): P and G are <paramref name="prefix"/> and <paramref name="gap"/> random tokens, A and C runs of n distinct
    /// tokens. The random prefix and gap keep absolute positions and the distance back to the earlier occurrence from
    /// telling where to look, so only matching tokens (induction) predicts the second run.
    /// </summary>
    public static long[] Batch(Random rng, int b, int n, int prefix, int gap, int vocab, bool repeat)
    {
        int len = 1 + prefix + 2 * n + gap;
        var data = new long[b * len];
        for (int i = 0; i < b; i++)
        {
            var a = Run(rng, n, vocab);
            var second = repeat ? a : Run(rng, n, vocab);
            int o = i * len, k = o;
            data[k++] = 0;
            for (int j = 0; j < prefix; j++) data[k++] = rng.Next(1, vocab);
            for (int j = 0; j < n; j++) data[k++] = a[j];
            for (int j = 0; j < gap; j++) data[k++] = rng.Next(1, vocab);
            for (int j = 0; j < n; j++) data[k++] = second[j];
        }
        return data;
    }

    /// <summary>
    /// Cross-entropy of predicting the second run's tokens 2..n from the positions before them (its first token
    /// cannot be predicted by copying). The second run is the last n tokens. Its intermediates (the token tensor, the
    /// logits) belong to the caller's dispose scope, as in <see cref="Train"/>'s loop.
    /// </summary>
    internal static Tensor SecondHalfLoss(TinyGpt model, long[] batch, int b, int len, int n)
    {
        int start = len - n;                                                    // the second run's first position
        var tokens = tensor(batch, new long[] { b, len });
        var logits = model.forward(tokens);                                     // [b, len, V]
        var predicting = logits.narrow(1, start, n - 1);
        var targets = tokens.narrow(1, start + 1, n - 1);
        return nn.functional.cross_entropy(predicting.reshape(-1, logits.shape[2]), targets.reshape(-1));
    }

    /// <summary>What a run of the loop did.</summary>
    public sealed record Result(double FirstLoss, double LastLoss, int Steps, TimeSpan Elapsed);

    /// <summary>
    /// Trains <paramref name="model"/> with Adam for <paramref name="steps"/> steps of batch 64, run length (4..12),
    /// gap and prefix drawn each step; <paramref name="repeat"/> false trains on <c>[BOS, P, A, G, C]</c> instead. Returns the mean loss of
    /// the first and last 20 steps.
    /// </summary>
    public static Result Train(TinyGpt model, int steps, double learningRate, int seed, bool repeat = true, Action<int, double>? progress = null)
    {
        torch.manual_seed(seed);
        var rng = new Random(seed);
        using var optimizer = torch.optim.Adam(model.parameters(), lr: learningRate);
        var losses = new List<double>(steps);
        var clock = Stopwatch.StartNew();
        model.train();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            // Runs of 4..12 tokens; the rest of the 32 positions, at random, before the first run and between the two.
            int n = rng.Next(4, 13), slack = model.Config.MaxPositions - 1 - 2 * n, gap = rng.Next(0, slack + 1), prefix = rng.Next(0, slack - gap + 1), b = 64;
            optimizer.zero_grad();
            var batch = Batch(rng, b, n, prefix, gap, model.Config.VocabSize, repeat);
            var loss = SecondHalfLoss(model, batch, b, 1 + prefix + 2 * n + gap, n);
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
            if (progress != null && (step + 1) % 100 == 0) progress(step + 1, losses.Skip(step - 99).Average());
        }
        model.eval();
        int w = Math.Min(20, steps);
        return new Result(losses.Take(w).Average(), losses.Skip(steps - w).Average(), steps, clock.Elapsed);
    }

    /// <summary>
    /// The task of tasks/torchsharp-induction.json: clean <c>[BOS, A, A₀..A₅]</c> → A₆ (A: 10 distinct tokens);
    /// corrupted <c>[BOS, B, A₀..A₅]</c> with B a run disjoint from A, wrong answer B₆. Only the first half differs,
    /// so the difference reaches the answer through the earlier occurrence: the previous-token head's write there and
    /// the induction head's keys and values.
    /// </summary>
    public static string TaskJson(int pairs, int seed)
    {
        var rng = new Random(seed);
        var lines = new List<string>();
        for (int i = 0; i < pairs; i++)
        {
            var a = Run(rng, 10, Config.VocabSize);
            var b = Run(rng, 10, Config.VocabSize, avoid: a);
            string Ids(IEnumerable<int> t) => "[" + string.Join(", ", t) + "]";
            var clean = new[] { 0 }.Concat(a).Concat(a[..6]);
            var corrupted = new[] { 0 }.Concat(b).Concat(a[..6]);
            lines.Add($"    {{\"clean_tokens\": {Ids(clean)}, \"corrupted_tokens\": {Ids(corrupted)}, \"correct_id\": {a[6]}, \"wrong_id\": {b[6]}}}");
        }
        return "{\n  \"name\": \"torchsharp-induction\",\n" +
            "  \"description\": \"Induction on a repeated run of 10 random tokens: clean [BOS, A, A0..A5] -> A6; corrupted [BOS, B, A0..A5] (B disjoint from A) -> B6. Written by InductionTraining.TaskJson(pairs: 8, seed: 7).\",\n" +
            "  \"metric\": \"logit_diff\",\n  \"pairs\": [\n" + string.Join(",\n", lines) + "\n  ]\n}\n";
    }
}
