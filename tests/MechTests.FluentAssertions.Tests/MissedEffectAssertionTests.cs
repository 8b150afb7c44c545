using FluentAssertions;
using MechTests.Attribution;
using Xunit;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// HaveMissedEffectBoundBelow (the subsampling / uniform-sample false-negative diagnostic). With k samples and no
/// failure the bound is 1 − α^(1/k): 1 − 0.05^(1/30) = 0.0950 for the default k = 30, 1 − 0.05^(1/5) = 0.4507 for k = 5.
/// </summary>
public class MissedEffectAssertionTests
{
    private static double Theta(Patching.TaskRuns runs) => 0.1 * (runs.CleanMetric - runs.CorruptedMetric);

    [Fact]
    public void EapOnTheInductionModelMissesNothingOutsideItsTopThree()
    {
        var runs = Models.InductionRuns;
        var r = EdgeAttribution.Eap(runs).Should().HaveMissedEffectBoundBelow(runs, fraction: 0.1, Theta(runs), new MissedEffectOptions { VerifiedTop = 3 }).Which;
        r.Misses.Should().BeEmpty();
        r.PoolSize.Should().Be(runs.Graph.Edges.Count - 3);
        r.Sampled.Should().HaveCount(30);
        r.Bound.Should().BeApproximately(1 - Math.Pow(0.05, 1.0 / 30), 1e-12);
    }

    [Fact]
    public void AnExhaustiveSampleGivesTheExactFraction()
    {
        var runs = Models.InductionRuns;
        var r = EdgeAttribution.Eap(runs).Should().HaveMissedEffectBoundBelow(runs, 0.01, Theta(runs), new MissedEffectOptions { VerifiedTop = 3, Samples = 1000 }).Which;
        r.Exhaustive.Should().BeTrue();
        r.Bound.Should().Be(0);
    }

    [Fact]
    public void EapMissesTheSaturatedKeyAndTheMessageNamesItWhileAtPStarPasses()
    {
        var runs = Models.SaturatedRuns;
        var options = new MissedEffectOptions { VerifiedTop = 2 };
        EdgeAttribution.AtPStar(runs).Should().HaveMissedEffectBoundBelow(runs, 0.1, Theta(runs), options).Which.Misses.Should().BeEmpty();

        string m = Fails.With(() => EdgeAttribution.Eap(runs).Should().HaveMissedEffectBoundBelow(runs, 0.1, Theta(runs), options));
        m.Should().Contain("to miss no effect |effect| ≥ 0.999996 outside its top 2, with a bound ≤ 0.1 on the fraction of the rest that could (confidence 0.95), but 1 component(s) outside the verified top 2 have |effect| ≥ 0.999996")
            .And.Contain("Pool: 44 of 46 components")
            .And.Contain("Conventions: attribution method=eap; level=edge; ablation=corrupted-patch")
            .And.Contain("bound=zero-failure 1-α^(1/k), α=0.05");
        Fails.LinesAfter(m, "Missed effects, largest first:")[0].Should().StartWith("input->a1.h0<k>  effect -9.99996  attribution score -4.12256E-07  rank 3 of 46");
    }

    [Fact]
    public void RandomScoresMissThePlantedEdges()
    {
        var runs = Models.InductionRuns;
        var eap = EdgeAttribution.Eap(runs);
        var rng = new Random(1);
        var random = new AttributionResult(eap.Method, eap.Aggregation, eap.Level, eap.Names, [eap.Names.Select(_ => rng.NextDouble()).ToArray()]);
        string m = Fails.With(() => random.Should().HaveMissedEffectBoundBelow(runs, 0.1, Theta(runs), new MissedEffectOptions { VerifiedTop = 3 }));
        m.Should().Contain("outside the verified top 3 have |effect| ≥ 1.9658");
        Fails.LinesAfter(m, "Missed effects, largest first:").TakeWhile(l => l.Contains("  effect ")).Select(l => l.Split("  ")[0])
            .Should().NotBeEmpty().And.BeSubsetOf(Models.Induction.CircuitEdges);
    }

    [Fact]
    public void TooFewSamplesCannotProveTheBoundAndTheMessageSaysHowManyAreNeeded()
    {
        var runs = Models.InductionRuns;
        string m = Fails.With(() =>
            EdgeAttribution.Eap(runs).Should().HaveMissedEffectBoundBelow(runs, 0.1, Theta(runs), new MissedEffectOptions { VerifiedTop = 3, Samples = 5 }));
        m.Should().Contain("but the bound is 0.45072 (required ≤ 0.1) with k = 5 samples").And.Contain("needs k ≥ 29 samples");
        MissedEffectReport.SamplesFor(0.1, 0.95).Should().Be(29);   // ln 0.05 / ln 0.9 = 28.4
        MissedEffectReport.SamplesFor(0.05, 0.95).Should().Be(59);  // ln 0.05 / ln 0.95 = 58.4
    }

    [Fact]
    public void TheModelOverloadsRunTheTaskAndANonPositiveThresholdIsAUsageError()
    {
        var m = Models.Induction;
        var eap = EdgeAttribution.Eap(Models.InductionRuns);
        eap.Should().HaveMissedEffectBoundBelow(m.CreateEngine(), m.Task, 0.1, 1.0, new MissedEffectOptions { VerifiedTop = 3 }).Which.Misses.Should().BeEmpty();
        eap.Should().HaveMissedEffectBoundBelow(Models.InductionLoaded, m.Task, 0.1, 1.0, new MissedEffectOptions { VerifiedTop = 3 }).Which.Misses.Should().BeEmpty();
        FluentActions.Invoking(() => eap.Should().HaveMissedEffectBoundBelow(Models.InductionRuns, 0.1, 0)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
