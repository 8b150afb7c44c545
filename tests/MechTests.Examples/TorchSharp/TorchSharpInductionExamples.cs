using FluentAssertions;
using FluentAssertions.Execution;
using MechTests.Circuits;
using MechTests.FluentAssertions;
using MechTests.Hooks;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Semantics;
using MechTests.TorchSharp.Backend;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;
using static MechTests.FluentAssertions.ModelComponents;

namespace MechTests.Examples.TorchSharp;

/// <summary>
/// Use 4 — a TorchSharp user's own model. <see cref="TinyGpt"/> (an <c>nn.Module</c> with HookPoints) was trained with
/// <c>torch.optim.Adam</c> on repeated random tokens (models/torchsharp-induction/README.md), its circuit discovered on
/// the TorchSharp backend and checked in (circuits/torchsharp-induction/). Here it is loaded, its circuit re-derived on
/// the user's module and compared with the snapshot, and its known mechanism asserted; then it is fine-tuned with
/// torch.optim on runs that do not repeat, and the same checks fail and say why.
/// </summary>
public class TorchSharpInductionExamples(ITestOutputHelper output)
{
    private const string ModelFolder = "models/torchsharp-induction";
    private const string CircuitPath = "circuits/torchsharp-induction/induction.json";

    static TorchSharpInductionExamples() => torch.set_num_threads(1); // a tiny model: one libtorch thread is fastest on a shared CI box

    /// <summary>Steps, seed and learning rate of the checked-in model (models/torchsharp-induction/README.md).</summary>
    internal const int FullSteps = 5000, TrainingSeed = 1;
    internal const double LearningRate = 2e-3;

    /// <summary>The user's module and MechTests' managed engine (reading the saved GPT-2 folder) compute the same logits.</summary>
    [Fact]
    public void TheSavedFolderIsTheSameModelToTheManagedEngine()
    {
        using var module = TinyGpt.LoadHuggingFace(Repo.Path(ModelFolder));
        var loaded = ModelLoader.Load(Repo.Path(ModelFolder));
        var tokens = InductionTraining.Batch(new Random(3), 2, 10, 0, 0, loaded.Config.VocabSize, repeat: true);
        using var backend = new TorchSharpBackend(module);
        HookContract.Check(backend, HookContract.Level.Edge);
        var prompts = new[] { tokens[..21].Select(t => (int)t).ToArray(), tokens[21..].Select(t => (int)t).ToArray() };
        using var torchPass = backend.Run(prompts, new RunOptions());
        using var managedPass = new Transformer(loaded.Config, loaded.Weights).Run(prompts, new RunOptions());
        float[] a = torchPass.Logits.Data, b = managedPass.Logits.Data;
        double scale = b.Max(Math.Abs), worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        output.WriteLine($"largest |logit difference| {worst:G3} of scale {scale:G3}");
        worst.Should().BeLessThan(1e-4 * scale);
    }

    /// <summary>The previous-token head and the induction head the checked-in circuit runs through.</summary>
    private const string PreviousTokenHead = "a0.h0", InductionHead = "a1.h1";

    /// <summary>Repeated random runs of 10 tokens, as in training (the default period would reach untrained positions).</summary>
    private static RepeatedTokens Repeats(ModelConfig c) => RepeatedTokens.Generate(c, period: 10, count: 16, seed: 0);

    private static string Folder => Repo.Path(ModelFolder);

    /// <summary>
    /// The claim, on any weights of this shape: a0 has a previous-token head, a1 an induction head fed by it, and the
    /// model still does the task (keeps half of the recorded clean-minus-corrupted gap).
    /// </summary>
    private static void InductionClaimHolds(TorchSharpBackend model, CircuitFile claim)
    {
        using (new AssertionScope())
        {
            Head(PreviousTokenHead).Should().AttendToPreviousToken(model, atLeast: 0.9, Repeats(model.Config).Sequences);
            Head(InductionHead).Should().BeAnInductionHead(model, atLeast: 0.7, Repeats(model.Config), "it should copy the token after the earlier occurrence");
            claim.Should().PerformTheRecordedTask(model, tokenizer: null, keepingAtLeast: 0.5, "the model should still complete a repeated run");
        }
    }

    /// <summary>The checked-in circuit, re-derived on the user's module, matches its snapshot, and names the mechanism.</summary>
    [Fact]
    public void TheCheckedInCircuitReDerivesOnTheUsersModuleAndIsTheInductionMechanism()
    {
        using var module = TinyGpt.LoadHuggingFace(Folder);
        using var backend = new TorchSharpBackend(module);
        var claim = CircuitFile.Read(Repo.Path(CircuitPath));
        foreach (var table in new[] { HeadScores.PreviousToken(backend, Repeats(backend.Config).Sequences), HeadScores.Induction(backend, Repeats(backend.Config)) })
            output.WriteLine($"{table.Kind}: " + string.Join(", ", table.Ranked().Select(r => $"{r.Name} {r.Score:F3}")));

        InductionClaimHolds(backend, claim);

        // Discovery on libtorch, through the user's HookPoints, gives the checked-in edges and numbers (within the snapshot's tolerances).
        var again = CircuitPipeline.Rederive(claim, backend, TinyGpt.WeightsSha256(Folder), tokenizer: null);
        new SnapshotVerifier().Verify(again, Path.ChangeExtension(Repo.Path(CircuitPath), null));
        again.Metrics["faithfulness"].Value.Should().BeGreaterThan(0.8);
        again.Circuit.Edges.Select(e => e.Name).Should().Contain($"{PreviousTokenHead}->{InductionHead}<k>", "the induction head finds the earlier occurrence through the previous-token head's write (K-composition)");
    }

    /// <summary>
    /// Fine-tuning with torch.optim on <c>[BOS, A, C]</c> — runs that do not repeat, so copying is wrong — removes the
    /// mechanism; the same checks fail, their messages give the measured values and thresholds, and the snapshot diff
    /// shows the behaviour collapsing next to the change of weights.
    /// </summary>
    [Fact]
    public void FineTuningOnRunsThatDoNotRepeatBreaksInductionAndTheChecksSaySo()
    {
        using var tuned = TinyGpt.LoadHuggingFace(Folder);
        var tuning = InductionTraining.Train(tuned, steps: FineTuneSteps, learningRate: LearningRate, seed: 11, repeat: false);
        output.WriteLine($"fine-tuned {tuning.Steps} steps in {tuning.Elapsed.TotalSeconds:F1} s: loss {tuning.FirstLoss:F4} -> {tuning.LastLoss:F4}");
        using var backend = new TorchSharpBackend(tuned);
        var claim = CircuitFile.Read(Repo.Path(CircuitPath));

        var check = () => InductionClaimHolds(backend, claim);
        tuning.LastLoss.Should().BeLessThan(tuning.FirstLoss, "the same Adam loop that trained the model learns the new data");
        var failure = check.Should().Throw<XunitException>().Which.Message;
        output.WriteLine(failure);
        failure.Should().Contain($"Expected head {InductionHead} to be an induction head with a score of at least 0.7 because it should copy the token after the earlier occurrence, but its induction score was ")
            .And.Contain("to perform its task, keeping at least 0.5 of the recorded L(clean) − L(corrupted) because the model should still complete a repeated run, but the gap is ");

        // The snapshot diff: new weights, and the clean metric (the logit difference the model puts on the copied token) collapsed.
        var tunedFolder = Directory.CreateTempSubdirectory("tinygpt-tuned").FullName;
        try
        {
            tuned.SaveHuggingFace(tunedFolder);
            var again = CircuitPipeline.Rederive(claim, backend, TinyGpt.WeightsSha256(tunedFolder), tokenizer: null, allowDifferentWeights: true);
            var diff = CircuitDiff.Compare(CircuitFile.Read(SnapshotVerifier.VerifiedPathOf(Path.ChangeExtension(Repo.Path(CircuitPath), null))), again);
            output.WriteLine(diff.Render(maxPerSection: 8));
            diff.Header.Should().Contain(h => h.Field == "model.weightsSha256");
            var clean = diff.MetricChanges.Single(c => c.Field == "metrics.clean.value");
            double before = double.Parse(clean.Before!, System.Globalization.CultureInfo.InvariantCulture);
            double after = double.Parse(clean.After!, System.Globalization.CultureInfo.InvariantCulture);
            after.Should().BeLessThan(0.25 * before, "the tuned model no longer prefers the copied token");
            diff.Render().Should().Contain("metrics.clean.value");
        }
        finally
        {
            Directory.Delete(tunedFolder, recursive: true);
        }
    }

    private const int FineTuneSteps = 40;

    /// <summary>
    /// Saving the loaded model writes the checked-in folder byte for byte (ε and BOS/EOS come from its config); a
    /// checkpoint whose config disagrees with its tensors is refused naming the tensor and both shapes.
    /// </summary>
    [Fact]
    public void SavingReproducesTheFolderAndAWrongShapeIsNamed()
    {
        var folder = Directory.CreateTempSubdirectory("tinygpt-save").FullName;
        try
        {
            using (var module = TinyGpt.LoadHuggingFace(Repo.Path(ModelFolder)))
                module.SaveHuggingFace(folder);
            foreach (var file in new[] { "config.json", "model.safetensors" })
                File.ReadAllBytes(Path.Combine(folder, file)).Should().Equal(File.ReadAllBytes(Path.Combine(Repo.Path(ModelFolder), file)), file);

            var config = File.ReadAllText(Path.Combine(folder, "config.json"));
            File.WriteAllText(Path.Combine(folder, "config.json"), config.Replace("\"vocab_size\": 48", "\"vocab_size\": 50", StringComparison.Ordinal));
            var load = () => TinyGpt.LoadHuggingFace(folder);
            load.Should().Throw<InvalidDataException>().WithMessage("*tensor 'transformer.wte.weight' has shape [48, 64]; the model expects [50, 64]*");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
