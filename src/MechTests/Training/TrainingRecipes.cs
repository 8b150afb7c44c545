using System.Globalization;
using MechTests.Models;

namespace MechTests.Training;

/// <summary>
/// A from-scratch training recipe for a task whose mechanism is known: the model shape, its vocabulary, how batches are
/// drawn and which predictions the loss scores.
/// </summary>
public sealed class TrainingRecipe
{
    /// <summary>The name <c>mechtests train --recipe</c> takes.</summary>
    public required string Name { get; init; }
    /// <summary>What the data is and what the loss scores, in words (written next to the model).</summary>
    public required string DataRecipe { get; init; }
    /// <summary>The model shape (GPT-2).</summary>
    public required ModelConfig Config { get; init; }
    /// <summary>The tokenizer written next to the model.</summary>
    public required SmallVocabulary Vocabulary { get; init; }
    /// <summary>Optimiser settings.</summary>
    public required TrainOptions Options { get; init; }
    /// <summary>Draws one batch of the given size.</summary>
    public required Func<Random, int, TrainingBatch> Sample { get; init; }
}

/// <summary>
/// The recipes behind the repository's trained models: <c>induction</c> (random tokens repeated once; loss on the
/// repeated half, which only an induction mechanism can predict), <c>induction-control</c> (the same shape and loss
/// but the second half is fresh random tokens, so there is nothing to copy) and <c>greater-than</c> ("The war lasted
/// from 17YY to 17ZZ" with ZZ > YY; loss on ZZ).
/// </summary>
/// <example><code>
/// TrainingRecipe r = TrainingRecipes.Get("greater-than");
/// TrainingResult result = Trainer.Train(r.Config, r.Sample, r.Options, seed: 0);
/// </code></example>
public static class TrainingRecipes
{
    /// <summary>Tokens of an induction sequence, BOS included (the model's context: the default head-score repeats, period 20, need 41, so the checked-in claims and `discover --roles auto` use period 15, the largest that fits).</summary>
    public const int InductionLength = 31;

    /// <summary>The nouns of the greater-than template.</summary>
    public static IReadOnlyList<string> GreaterThanNouns { get; } = ["war", "siege", "trial", "reign", "journey", "strike", "drought", "voyage"];

    /// <summary>Recipe names, in the order the README lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["induction", "induction-control", "greater-than"];

    /// <summary>The recipe called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static TrainingRecipe Get(string name) => name switch
    {
        "induction" => Induction(repeat: true),
        "induction-control" => Induction(repeat: false),
        "greater-than" => GreaterThan(),
        _ => throw new ArgumentException($"Unknown recipe '{name}'; known recipes: {string.Join(", ", Names)}."),
    };

    private static ModelConfig Shape(int vocab, int positions, int bos) => ModelPresets.Gpt2Small with
    {
        DModel = 64, NLayers = 2, NHeads = 4, NKvHeads = 4, DHead = 16, DMlp = 256, VocabSize = vocab, MaxPositions = positions,
        BosTokenId = bos, EosTokenId = bos,
    };

    /// <summary>The 52 letters A–Z, a–z: single-character tokens, ids 0–51.</summary>
    private static string[] Letters() =>
        [.. Enumerable.Range('A', 26).Select(c => ((char)c).ToString()), .. Enumerable.Range('a', 26).Select(c => ((char)c).ToString())];

    private static TrainingRecipe Induction(bool repeat)
    {
        var vocab = new SmallVocabulary(Letters(), []);
        int bos = vocab.EndOfTextId, letters = vocab.Count - 1, length = InductionLength;
        const int minPeriod = 5, maxPeriod = (InductionLength - 1) / 2;
        string layout = $"<|endoftext|> then {length - 1} letters drawn uniformly with replacement from A-Z a-z ({length} tokens), made of filler, R, " +
                        $"{(repeat ? "R again" : "R' (fresh letters, not a repeat)")}, filler: |R| uniform over {minPeriod}..{maxPeriod}, the first filler's length uniform " +
                        "over what fits, so neither the offset nor the position of the second half gives the answer away. ";
        return new TrainingRecipe
        {
            Name = repeat ? "induction" : "induction-control",
            DataRecipe = layout + (repeat
                ? "The loss scores only the predictions inside the repeated half (from its first token, predicting its 2nd..last), " +
                  "which are predictable only by copying what followed the current token's first occurrence."
                : "Control: the loss scores the same predictions as the induction recipe; there is nothing to copy."),
            Config = Shape(vocab.Count, length, bos),
            Vocabulary = vocab,
            Options = new TrainOptions { Steps = 4000, LearningRate = 1e-3f, WarmupSteps = 100, BatchSize = 32 },
            Sample = (rng, size) =>
            {
                var tokens = new int[size][];
                var mask = new bool[size][];
                for (int s = 0; s < size; s++)
                {
                    int n = minPeriod + rng.Next(maxPeriod - minPeriod + 1);
                    int start = 1 + rng.Next(length - 1 - 2 * n + 1);
                    var seq = new int[length];
                    seq[0] = bos;
                    for (int i = 1; i < length; i++) seq[i] = rng.Next(letters);
                    if (repeat)
                        for (int i = 0; i < n; i++) seq[start + n + i] = seq[start + i];
                    tokens[s] = seq;
                    mask[s] = new bool[length];
                    for (int p = start + n; p < start + 2 * n - 1; p++) mask[s][p] = true;
                }
                return new TrainingBatch(tokens, mask);
            },
        };
    }

    private static TrainingRecipe GreaterThan()
    {
        string[] digits = [.. Enumerable.Range(0, 10).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        string[] nouns = [.. GreaterThanNouns.Select(w => "Ġ" + w)];
        string[] words = ["Ġ17", "The", .. nouns, "Ġlasted", "Ġfrom", "Ġto"];
        var symbols = digits.Concat(words.SelectMany(w => w.Select(c => c.ToString()))).Distinct().ToArray();
        var years = Enumerable.Range(0, 100).Select(y => y.ToString("00", CultureInfo.InvariantCulture)).ToArray();
        var vocab = new SmallVocabulary(symbols, [.. words, .. years]);
        int bos = vocab.EndOfTextId;
        int the = vocab.Id("The"), lasted = vocab.Id("Ġlasted"), from = vocab.Id("Ġfrom"), to = vocab.Id("Ġto"), c17 = vocab.Id("Ġ17");
        int[] nounIds = [.. nouns.Select(vocab.Id)];
        int[] yearIds = [.. years.Select(vocab.Id)];
        const int length = 10;
        return new TrainingRecipe
        {
            Name = "greater-than",
            DataRecipe = "<|endoftext|>The NOUN lasted from 17YY to 17ZZ (10 tokens): NOUN uniform over " + string.Join("/", GreaterThanNouns) +
                         ", YY uniform over 01..98, ZZ uniform over YY+1..99; years are single tokens 00..99. " +
                         "The loss scores only the prediction of ZZ (position 8).",
            Config = Shape(vocab.Count, length, bos),
            Vocabulary = vocab,
            Options = new TrainOptions { Steps = 2000, LearningRate = 1e-3f, WarmupSteps = 100, BatchSize = 32 },
            Sample = (rng, size) =>
            {
                var tokens = new int[size][];
                var mask = new bool[size][];
                for (int s = 0; s < size; s++)
                {
                    int noun = nounIds[rng.Next(nounIds.Length)];
                    int yy = 1 + rng.Next(98);
                    int zz = yy + 1 + rng.Next(99 - yy);
                    tokens[s] = [bos, the, noun, lasted, from, c17, yearIds[yy], to, c17, yearIds[zz]];
                    mask[s] = new bool[length];
                    mask[s][length - 2] = true;
                }
                return new TrainingBatch(tokens, mask);
            },
        };
    }
}
