using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Tensors;
using MechTests.Tests.Cli;
using MechTests.Tests.Loading;
using MechTests.Training;
using Xunit;

namespace MechTests.Tests.Training;

/// <summary>
/// Training from scratch: the masked loss, GPT-2 initialisation, the Hugging Face folder the trainer writes (read back
/// by the project's loader and tokenizer) and reproducibility of <c>mechtests train</c>. The full trainings behind
/// models/ are not re-run here (minutes each); their commands are in each folder's training.json.
/// </summary>
public class TrainerTests
{
    [Fact]
    public void MaskedCrossEntropyScoresOnlyTheChosenPredictions()
    {
        // Zero logits: every prediction is uniform, so each scored one costs exactly ln V.
        var logits = new Tensor(2, 4, 7);
        var batch = new TrainingBatch([[1, 2, 3, 4], [6, 0, 5, 2]], [[false, true, false, false], [true, false, true, true]]);
        var (loss, d) = Trainer.CrossEntropy(logits, batch);
        Assert.Equal(Math.Log(7), loss, 12);
        // Three scored predictions (the last position's flag is ignored): gradient softmax/3 − onehot/3 there, 0 elsewhere.
        for (int i = 0; i < 2; i++)
        for (int p = 0; p < 4; p++)
        for (int j = 0; j < 7; j++)
        {
            bool scored = p < 3 && batch.LossMask[i][p];
            double expected = !scored ? 0 : (1.0 / 7 - (batch.Tokens[i][p + 1] == j ? 1 : 0)) / 3;
            Assert.Equal(expected, d.Data[(i * 4 + p) * 7 + j], 6);
        }
    }

    [Fact]
    public void WithEveryPredictionScoredTheMaskedLossIsFineTunersLoss()
    {
        var rng = new Random(3);
        var logits = new Tensor(2, 5, 6);
        for (int i = 0; i < logits.Length; i++) logits.Data[i] = (float)(rng.NextDouble() * 6 - 3);
        int[][] tokens = [[0, 1, 2, 3, 4], [5, 4, 3, 2, 1]];
        var all = new TrainingBatch(tokens, [[true, true, true, true, true], [true, true, true, true, true]]);
        var (loss, d) = Trainer.CrossEntropy(logits, all);
        var (reference, dReference) = FineTuner.CrossEntropy(logits, tokens);
        Assert.Equal(reference, loss, 12);
        Assert.Equal(dReference.Data, d.Data);
    }

    [Fact]
    public void TheSharedAdamStepMovesEachWeightByTheLearningRateTimesTheGradientsSignOnItsFirstStep()
    {
        // Step 1: m̂ = g and v̂ = g² exactly, so w − lr·g/(|g| + ε) — for |g| ≫ ε that is w − lr·sign(g).
        float[] w = [1f, -2f, 0.5f], frozen = [3f];
        var adam = new Adam([("w", w), ("frozen", frozen)], 0.9f, 0.999f, 1e-8f);
        adam.Step(1, 0.01f, new Dictionary<string, float[]> { ["w"] = [0.5f, -4f, 1e-3f] });
        Assert.Equal(1 - 0.01, w[0], 6);
        Assert.Equal(-2 + 0.01, w[1], 6);
        Assert.Equal(0.5 - 0.01 * 1e-3 / (1e-3 + 1e-8), w[2], 6);
        Assert.Equal(3f, frozen[0]);   // no gradient, no step
        // Step 2 with the same gradient: the bias-corrected moments are still g and g², so the same move again.
        adam.Step(2, 0.01f, new Dictionary<string, float[]> { ["w"] = [0.5f, -4f, 1e-3f] });
        Assert.Equal(1 - 0.02, w[0], 5);
        Assert.Equal(-2 + 0.02, w[1], 5);
    }

    [Fact]
    public void AMaskThatSelectsNothingIsAnError()
    {
        var e = Assert.Throws<ArgumentException>(() => Trainer.CrossEntropy(new Tensor(1, 3, 4), new TrainingBatch([[0, 1, 2]], [[false, false, true]])));
        Assert.Equal("The loss mask selects no prediction.", e.Message);
    }

    [Fact]
    public void Gpt2InitialisationHasGpt2sScales()
    {
        var c = TrainingRecipes.Get("induction").Config;
        var w = Trainer.InitGpt2(c, seed: 0);
        static double Std(float[] a) => Math.Sqrt(a.Select(x => (double)x * x).Average());
        // 64·64 = 4096 draws: the sample std is within ±5% of σ with overwhelming probability.
        Assert.InRange(Std(w.Layers[0].Wq), 0.019, 0.021);
        Assert.InRange(Std(w.Layers[1].WIn), 0.019, 0.021);
        Assert.InRange(Std(w.Layers[1].Wo), 0.0095, 0.0105);   // 0.02/√(2·2 layers)
        Assert.All(w.Layers[0].Bq!, x => Assert.Equal(0f, x));
        Assert.All(w.LnFinalWeight, x => Assert.Equal(1f, x));
        Assert.Same(w.TokenEmbed, w.Unembed);
    }

    [Fact]
    public void TheWrittenFolderLoadsBackBitForBitWithItsTokenizer()
    {
        var recipe = TrainingRecipes.Get("greater-than");
        var trained = Trainer.Train(recipe.Config, recipe.Sample, recipe.Options with { Steps = 3 }, seed: 5).Weights;
        using var dir = new TempDir();
        HuggingFaceWriter.WriteGpt2(dir.Path, recipe.Config, trained);
        recipe.Vocabulary.Write(dir.Path);

        var loaded = ModelLoader.Load(dir.Path);
        Assert.Equal(recipe.Config, loaded.Config);
        Assert.Equal(trained.Named().Select(x => x.Name), loaded.Weights.Named().Select(x => x.Name));
        foreach (var ((name, a), (_, b)) in trained.Named().Zip(loaded.Weights.Named()))
            Assert.True(a.AsSpan().SequenceEqual(b), $"{name} differs after writing and loading");

        var tok = loaded.Tokenizer!;
        Assert.Equal(recipe.Vocabulary.Count, tok.VocabSize);
        int[] ids = tok.Encode("<|endoftext|>The war lasted from 1732 to 17", addBos: false);
        Assert.Equal(recipe.Vocabulary.EndOfTextId, ids[0]);
        Assert.Equal(["The", " war", " lasted", " from", " 17", "32", " to", " 17"], ids[1..].Select(i => tok.DecodeToken(i)));
        Assert.Equal(ids[^1], ids[5]);
        Assert.Equal([tok.TokenId("99")!.Value], tok.EncodeContinuation("99"));
    }

    [Fact]
    public void TrainingIsBitReproducibleForASeedAndDependsOnIt()
    {
        var recipe = TrainingRecipes.Get("greater-than");
        var options = recipe.Options with { Steps = 20 };
        byte[] Bytes(int seed)
        {
            var result = Trainer.Train(recipe.Config, recipe.Sample, options, seed);
            using var dir = new TempDir();
            HuggingFaceWriter.WriteGpt2(dir.Path, recipe.Config, result.Weights);
            return File.ReadAllBytes(dir.File("model.safetensors"));
        }
        var first = Bytes(0);
        Assert.Equal(first, Bytes(0));
        Assert.NotEqual(first, Bytes(1));
    }

    [Fact]
    public void FortyStepsOnGreaterThanLowerTheLossFromUniform()
    {
        var recipe = TrainingRecipes.Get("greater-than");
        var losses = Trainer.Train(recipe.Config, recipe.Sample, recipe.Options with { Steps = 40, WarmupSteps = 5 }, seed: 0).Losses;
        // At initialisation the prediction is near uniform over the vocabulary: ln V.
        Assert.Equal(Math.Log(recipe.Config.VocabSize), losses[0], 1);
        Assert.True(losses.TakeLast(5).Average() < losses[0] - 0.5, $"loss {losses[0]:F3} → {losses[^1]:F3}");
    }

    [Fact]
    public void TheInductionRecipeScoresOnlyPredictionsACopyCanMake()
    {
        var recipe = TrainingRecipes.Get("induction");
        var batch = recipe.Sample(new Random(0), 256);
        int eot = recipe.Vocabulary.EndOfTextId;
        var periods = new HashSet<int>();
        foreach (var (seq, mask) in batch.Tokens.Zip(batch.LossMask))
        {
            Assert.Equal(31, seq.Length);
            Assert.Equal(eot, seq[0]);
            Assert.DoesNotContain(eot, seq[1..]);
            int[] scored = [.. Enumerable.Range(0, seq.Length).Where(p => mask[p])];
            Assert.Equal(Enumerable.Range(scored[0], scored.Length), scored);
            int period = scored.Length + 1;   // the second copy's first token is read, the next period − 1 predicted
            periods.Add(period);
            foreach (int p in scored) Assert.Equal(seq[p + 1 - period], seq[p + 1]);
        }
        Assert.Equal(Enumerable.Range(5, 11), periods.Order());
    }

    [Fact]
    public void TheControlRecipeHasTheSameShapeButNothingToCopy()
    {
        var recipe = TrainingRecipes.Get("induction-control");
        var batch = recipe.Sample(new Random(0), 256);
        int copies = 0, scoredTotal = 0;
        foreach (var (seq, mask) in batch.Tokens.Zip(batch.LossMask))
        {
            int[] scored = [.. Enumerable.Range(0, seq.Length).Where(p => mask[p])];
            int period = scored.Length + 1;
            copies += scored.Count(p => seq[p + 1 - period] == seq[p + 1]);
            scoredTotal += scored.Length;
        }
        // Fresh letters match the would-be copy by chance only: 1/52 ≈ 0.019.
        Assert.InRange((double)copies / scoredTotal, 0.005, 0.04);
    }

    [Fact]
    public void TheGreaterThanRecipeScoresALaterYear()
    {
        var recipe = TrainingRecipes.Get("greater-than");
        var v = recipe.Vocabulary;
        var batch = recipe.Sample(new Random(0), 512);
        var seenYy = new HashSet<int>();
        foreach (var (seq, mask) in batch.Tokens.Zip(batch.LossMask))
        {
            Assert.Equal([8], Enumerable.Range(0, seq.Length).Where(p => mask[p]));
            Assert.Equal(v.Id("Ġ17"), seq[5]);
            Assert.Equal(v.Id("Ġ17"), seq[8]);
            int yy = int.Parse(v.Tokens[seq[6]]), zz = int.Parse(v.Tokens[seq[9]]);
            Assert.InRange(yy, 1, 98);
            Assert.InRange(zz, yy + 1, 99);
            seenYy.Add(yy);
        }
        Assert.Contains(1, seenYy);
        Assert.Contains(98, seenYy);
    }

    [Fact]
    public void UnknownRecipesAreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainingRecipes.Get("ioi"));
        Assert.Equal("Unknown recipe 'ioi'; known recipes: induction, induction-control, greater-than.", e.Message);
    }

    [Fact]
    public void TheTrainCommandReproducesItsOwnFiles()
    {
        using var dir = new TempDir();
        string a = Path.Combine(dir.Path, "a"), b = Path.Combine(dir.Path, "b");
        foreach (var folder in new[] { a, b })
        {
            var (code, stdout, stderr) = CliRunner.Run("train", "--recipe", "greater-than", "--out", folder, "--seed", "3", "--steps", "5");
            Assert.True(code == 0, stderr);
            Assert.StartsWith($"{folder}: greater-than, seed 3, 5 steps, final loss ", stdout);
        }
        string[] files = ["config.json", "merges.txt", "model.safetensors", "training.json", "vocab.json"];
        Assert.Equal(files, Directory.GetFiles(a).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var f in files.Where(f => f != "training.json"))
            Assert.True(File.ReadAllBytes(Path.Combine(a, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, f))), $"{f} differs between two runs");
        // training.json records the command, which names its own folder.
        Assert.Contains($"\"command\": \"mechtests train --recipe greater-than --out {a} --seed 3 --steps 5\"", File.ReadAllText(Path.Combine(a, "training.json")));
        // …and the GEMM kernel family, since another family rounds differently and trains other bytes.
        Assert.Contains($"\"gemm_kernel\": \"{MechTests.Tensors.Gemm.ActiveKernel.ToString().ToLowerInvariant()}\"", File.ReadAllText(Path.Combine(a, "training.json")));

        // Training again into a folder that holds only train's own output overwrites it: same files, same bytes, no temporaries left.
        var before = files.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(a, f)));
        var (again, _, err) = CliRunner.Run("train", "--recipe", "greater-than", "--out", a, "--seed", "3", "--steps", "5");
        Assert.True(again == 0, err);
        Assert.Equal(files, Directory.GetFileSystemEntries(a).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var f in files) Assert.True(before[f].AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(a, f))), $"{f} changed on retraining");
    }

    [Fact]
    public void TheTrainCommandRefusesAFolderHoldingFilesItDoesNotWrite()
    {
        // A stale tokenizer.json would win over the new vocab.json/merges.txt when the folder is loaded.
        using var dir = new TempDir();
        string folder = dir.File("m");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), "{}");
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
        var (code, stdout, stderr) = CliRunner.Run("train", "--recipe", "greater-than", "--out", folder, "--steps", "1");
        Assert.Equal(3, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: I/O: --out '{folder}' holds a file train does not write (tokenizer.json), which would be mixed with the new model; choose an empty or new folder", stderr);
        Assert.Equal(["config.json", "tokenizer.json"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("{}", File.ReadAllText(Path.Combine(folder, "config.json")));   // nothing trained, nothing written
    }

    [Fact]
    public void TheTrainCommandRefusesAnUnknownRecipeAndAFileAsItsFolderBeforeTraining()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = CliRunner.Run("train", "--recipe", "ioi", "--out", dir.File("m"));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("'ioi' not recognized", stderr);
        Assert.Contains("'greater-than'", stderr);

        string file = dir.File("taken");
        File.WriteAllText(file, "");
        (code, stdout, stderr) = CliRunner.Run("train", "--recipe", "greater-than", "--out", file);
        Assert.Equal(3, code);
        Assert.Equal([$"error: I/O: --out '{file}' is a file; expected a folder."], stderr.TrimEnd().Split('\n'));   // no step ran
    }

    [Theory]
    [InlineData("induction-2l", "induction")]
    [InlineData("induction-control-2l", "induction-control")]
    [InlineData("greater-than-2l", "greater-than")]
    public void EachCheckedInModelRecordsTheCommandThatMadeItAndIsSmall(string folder, string recipe)
    {
        string path = TestPaths.Models(folder);
        string training = File.ReadAllText(Path.Combine(path, "training.json"));
        Assert.Contains($"\"command\": \"mechtests train --recipe {recipe} --out models/{folder} --seed 0\"", training);
        // Retrained on that family after the Adam/loss refactoring, each model.safetensors came out byte-identical.
        Assert.Contains("\"gemm_kernel\": \"avx512\"", training);
        Assert.InRange(new FileInfo(Path.Combine(path, "model.safetensors")).Length, 1, 3_000_000);
        var model = ModelLoader.Load(path);
        Assert.Equal(TrainingRecipes.Get(recipe).Config, model.Config);
        Assert.NotNull(model.Tokenizer);
    }

    /// <summary>
    /// The shipped files mean to the engine what they mean to an independent GPT-2 forward written from transformers'
    /// conventions in plain Python (tests/reference/trained_gpt2_reference.py; float64): every logit of every position
    /// within 1e-4 of the logits' scale.
    /// </summary>
    [Theory]
    [InlineData("induction-2l")]
    [InlineData("greater-than-2l")]
    public void TheCheckedInModelsMatchAnIndependentReferenceForward(string model)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture($"reference/trained/{model}.json")));
        var loaded = ModelLoader.Load(TestPaths.Models(model));
        var engine = new Transformer(loaded.Config, loaded.Weights);
        var prompts = doc.RootElement.GetProperty("tokens").EnumerateArray().Select(p => p.EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray();
        var expected = doc.RootElement.GetProperty("logits").EnumerateArray().ToArray();
        int v = loaded.Config.VocabSize;
        for (int i = 0; i < prompts.Length; i++)
        {
            using var pass = engine.Run([prompts[i]], new MechTests.Hooks.RunOptions());
            var reference = expected[i].EnumerateArray().SelectMany(row => row.EnumerateArray().Select(x => x.GetDouble())).ToArray();
            Assert.Equal(prompts[i].Length * v, reference.Length);
            double scale = reference.Max(Math.Abs), worst = 0;
            for (int j = 0; j < reference.Length; j++) worst = Math.Max(worst, Math.Abs(pass.Logits.Data[j] - reference[j]));
            Assert.True(worst <= 1e-4 * scale, $"{model} prompt {i}: largest logit difference {worst:G3} against scale {scale:G3}");
        }
    }
}
