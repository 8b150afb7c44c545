using FluentAssertions;
using FluentAssertions.Execution;
using MechTests.Circuits;
using MechTests.FluentAssertions;
using MechTests.Models;
using MechTests.Training;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MechTests.Examples;

/// <summary>
/// Use 2 — regression-checking a mechanism after fine-tuning. stories260K is fine-tuned for a few Adam steps (exact
/// weight gradients from the engine) on short stories, then the checked-in name-copy claim is checked on the tuned
/// weights. Stories that use the introduced name again leave the mechanism intact; stories that introduce one name
/// and then continue with the other teach the model to stop copying, and the same checks fail.
/// </summary>
public class FineTuneRegressionExamples(ITestOutputHelper output)
{
    private static readonly string[] Verbs = ["liked to play", "had a ball", "was happy", "saw a dog", "went to the park", "loved the sun"];

    /// <summary>Twelve stories: after "a girl named Lily" the story goes on with Lily (or, swapped, with Tim).</summary>
    private static List<int[]> Stories(bool swapNames)
    {
        var tok = Repo.Stories.Tokenizer!;
        var stories = new List<int[]>();
        foreach (var (name, other, kind) in new[] { ("Lily", "Tim", "girl"), ("Tim", "Lily", "boy") })
        foreach (var verb in Verbs)
        {
            string next = swapNames ? other : name;
            stories.Add(tok.Encode($"Once upon a time, there was a {kind} named {name}. {next} {verb}. One day, {next} {verb}.", true));
        }
        return stories;
    }

    private static Transformer FineTune(bool swapNames, int steps, float learningRate)
    {
        var m = Repo.Stories;
        var tuned = new Transformer(m.Config, m.Weights.DeepClone());
        FineTuner.Run(tuned, Stories(swapNames), new FineTuneOptions { Steps = steps, LearningRate = learningRate, BatchSize = 6 });
        return tuned;
    }

    /// <summary>
    /// The claim, on any weights: the model still does the task (its clean-minus-corrupted logit-difference gap keeps at
    /// least half of what the circuit file recorded) and the checked-in circuit still explains it (faithfulness ≥ 0.8,
    /// corrupted-patch ablation, not clamped). A faithfulness over a vanished gap means nothing, hence both.
    /// </summary>
    private static void NameCopyClaimHolds(Transformer model, CircuitFile claim)
    {
        using (new AssertionScope())
        {
            claim.Should().PerformTheRecordedTask(model, Repo.Stories.Tokenizer, keepingAtLeast: 0.5, "the model should still prefer the introduced name");
            claim.Should().BeFaithful(model, Repo.Stories.Tokenizer, atLeast: 0.8);
        }
    }

    private CircuitDiffResult DiffAgainstVerified(Transformer tuned)
    {
        var claim = CircuitFile.Read(Repo.Path("circuits/name-copy.json"));
        var verified = CircuitFile.Read(Repo.Path("circuits/name-copy.verified.json"));
        var again = CircuitPipeline.Rederive(claim, tuned, ModelIdentity.HashWeights(tuned.Weights), Repo.Stories.Tokenizer, allowDifferentWeights: true);
        var diff = CircuitDiff.Compare(verified, again);
        output.WriteLine(diff.Render(maxPerSection: 8));
        return diff;
    }

    private static double Metric(CircuitDiffResult diff, string field, bool after)
    {
        var change = diff.MetricChanges.Single(c => c.Field == $"metrics.{field}.value");
        return double.Parse((after ? change.After : change.Before)!, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void FineTuningOnStoriesThatReuseTheNameKeepsTheNameCopyMechanism()
    {
        var tuned = FineTune(swapNames: false, steps: 10, learningRate: 1e-3f);
        var claim = CircuitFile.Read(Repo.Path("circuits/name-copy.json"));

        NameCopyClaimHolds(tuned, claim);

        // Re-deriving on the tuned weights moves some small edges (the diff lists them) but keeps the behaviour.
        var diff = DiffAgainstVerified(tuned);
        Metric(diff, "clean", after: true).Should().BeGreaterThan(0.5 * Metric(diff, "clean", after: false));
        // The role claims recorded in the file say what moved: the name mover still writes the name (DLA 1.38 -> 1.41),
        // but the suppressor a4.h2 lets go (-0.47 -> -0.19, past its claim atMost -0.3): a change the behaviour hides.
        diff.RoleChanges.Single(c => c.Role == "a2.h6 promotes-answer").Text.Should().EndWith("claim atLeast 1 — claim holds");
        diff.RoleChanges.Single(c => c.Role == "a4.h2 suppresses-answer").Text.Should().EndWith("claim atMost -0.3 — claim no longer holds");
    }

    [Fact]
    public void FineTuningOnStoriesThatSwapTheNameBreaksItAndTheSameChecksSaySo()
    {
        var tuned = FineTune(swapNames: true, steps: 20, learningRate: 3e-3f);
        var claim = CircuitFile.Read(Repo.Path("circuits/name-copy.json"));

        var check = () => NameCopyClaimHolds(tuned, claim);
        var failure = check.Should().Throw<XunitException>().Which.Message;
        output.WriteLine(failure);
        failure.Should().Contain("to perform its task").And.Contain("should still prefer the introduced name").And.Contain("to be faithful");

        // The snapshot diff shows the behaviour collapsing next to the change of weights.
        var diff = DiffAgainstVerified(tuned);
        diff.Header.Should().Contain(h => h.Field == "model.weightsSha256");
        Metric(diff, "clean", after: true).Should().BeLessThan(0.2 * Metric(diff, "clean", after: false));
        // And the name mover no longer writes the name (DLA 1.38 -> 0.14): its role claim is the first role change.
        diff.RoleChanges[0].Text.Should().StartWith("~ a2.h6 promotes-answer: DLA 1.3816 -> ").And.EndWith("claim atLeast 1 — claim no longer holds");
    }
}
