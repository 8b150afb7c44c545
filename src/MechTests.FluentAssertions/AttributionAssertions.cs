using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Primitives;
using MechTests.Attribution;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.FluentAssertions;

/// <summary>
/// Assertions on an <see cref="AttributionResult"/> (AtP, AtP*, EAP, EAP-IG scores): that it agrees with exhaustive
/// activation patching of the same components, and that it misses no important effect outside its top ranks.
/// Obtain with <c>attribution.Should()</c>.
/// </summary>
/// <example><code>
/// var runs = TaskRuns.Create(engine, task);
/// var star = EdgeAttribution.AtPStar(runs);
/// star.Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.8, topKRecallAtLeast: 0.8, topK: 10)
///     .Which.RelativeCost.Should().BeLessThan(2);
/// </code></example>
public sealed class AttributionAssertions : ReferenceTypeAssertions<AttributionResult, AttributionAssertions>
{
    /// <summary>Wraps an attribution (null makes every assertion fail).</summary>
    /// <param name="subject">The attribution.</param>
    /// <example><code>
    /// var assertions = new AttributionAssertions(EdgeAttribution.Eap(runs));   // what attribution.Should() returns
    /// </code></example>
    public AttributionAssertions(AttributionResult subject) : base(subject) => MechTestsFormatters.Register();

    /// <inheritdoc />
    protected override string Identifier => "attribution";

    /// <summary>
    /// Patches every component the attribution scored (each edge, or each node at its granularity) exactly, one at a
    /// time, and asserts that the attribution ranks them as patching does (<see cref="AgreementReport"/>): Spearman ρ
    /// of |score| vs |effect| ≥ <paramref name="spearmanAtLeast"/> and top-k recall ≥ <paramref name="topKRecallAtLeast"/>.
    /// On failure the message lists the true top-k components the attribution ranked low. Exhaustive patching costs one
    /// (partial) forward pass per component.
    /// </summary>
    /// <param name="runs">The runs the attribution was computed on.</param>
    /// <param name="spearmanAtLeast">The smallest acceptable Spearman correlation.</param>
    /// <param name="topKRecallAtLeast">The smallest acceptable fraction of the true top k found in the attribution's top k.</param>
    /// <param name="topK">k.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// NodeAttribution.AtPStar(runs, NodeSets.Build(m.Config, NodeGranularity.QueryKeyValue))
    ///     .Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.8, topKRecallAtLeast: 0.6, topK: 5);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<AttributionAssertions, AgreementReport> AgreeWithActivationPatching(TaskRuns runs, double spearmanAtLeast = 0.8, double topKRecallAtLeast = 0.8,
        int topK = 10, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (!NotNull("agree with activation patching", because, becauseArgs)) return new(this, (AgreementReport)null!);
        var patching = ScoredComponents.Of(runs, Subject).Patch(runs);
        return AgreeWith(patching, spearmanAtLeast, topKRecallAtLeast, topK, because, becauseArgs);
    }

    /// <summary>Runs <paramref name="task"/> on <paramref name="model"/> once, then asserts as <see cref="AgreeWithActivationPatching(TaskRuns, double, double, int, string, object[])"/>.</summary>
    /// <param name="model">The model backend.</param>
    /// <param name="task">The task.</param>
    /// <param name="spearmanAtLeast">The smallest acceptable Spearman correlation.</param>
    /// <param name="topKRecallAtLeast">The smallest acceptable top-k recall.</param>
    /// <param name="topK">k.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// star.Should().AgreeWithActivationPatching(engine, task, spearmanAtLeast: 0.8, topKRecallAtLeast: 0.8);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<AttributionAssertions, AgreementReport> AgreeWithActivationPatching(IModelBackend model, MechTask task, double spearmanAtLeast = 0.8,
        double topKRecallAtLeast = 0.8, int topK = 10, string because = "", params object[] becauseArgs)
        => AgreeWithActivationPatching(Runs.For(model, task), spearmanAtLeast, topKRecallAtLeast, topK, because, becauseArgs);

    /// <summary>Runs <paramref name="task"/> on a loaded model once, then asserts as <see cref="AgreeWithActivationPatching(TaskRuns, double, double, int, string, object[])"/>.</summary>
    /// <param name="model">A model from <c>ModelLoader.Load</c>.</param>
    /// <param name="task">The task.</param>
    /// <param name="spearmanAtLeast">The smallest acceptable Spearman correlation.</param>
    /// <param name="topKRecallAtLeast">The smallest acceptable top-k recall.</param>
    /// <param name="topK">k.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// star.Should().AgreeWithActivationPatching(loaded, task, topK: 5);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<AttributionAssertions, AgreementReport> AgreeWithActivationPatching(LoadedModel model, MechTask task, double spearmanAtLeast = 0.8,
        double topKRecallAtLeast = 0.8, int topK = 10, string because = "", params object[] becauseArgs)
        => AgreeWithActivationPatching(Runs.For(model, task), spearmanAtLeast, topKRecallAtLeast, topK, because, becauseArgs);

    /// <summary>
    /// As <see cref="AgreeWithActivationPatching(TaskRuns, double, double, int, string, object[])"/> with patching
    /// effects already measured (e.g. shared by several attributions). Compared over the names both have.
    /// </summary>
    /// <param name="patching">Exhaustive activation patching of the attribution's components.</param>
    /// <param name="spearmanAtLeast">The smallest acceptable Spearman correlation.</param>
    /// <param name="topKRecallAtLeast">The smallest acceptable top-k recall.</param>
    /// <param name="topK">k.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// var truth = EdgePatching.RunEach(runs);
    /// EdgeAttribution.AtPStar(runs).Should().AgreeWith(truth, spearmanAtLeast: 0.8);
    /// EdgeAttribution.EapIg(runs).Should().AgreeWith(truth, spearmanAtLeast: 0.7);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<AttributionAssertions, AgreementReport> AgreeWith(PatchingResult patching, double spearmanAtLeast = 0.8, double topKRecallAtLeast = 0.8,
        int topK = 10, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(patching);
        string claim = $"agree with activation patching, Spearman ≥ {Num.G(spearmanAtLeast)} and top-{Num.I(topK)} recall ≥ {Num.G(topKRecallAtLeast)}";
        if (!NotNull(claim, because, becauseArgs)) return new(this, (AgreementReport)null!);
        var report = AgreementReport.Compute(Subject.Scores, patching.Effects, topK);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(report.Spearman >= spearmanAtLeast && report.TopKRecall >= topKRecallAtLeast)
            .FailWith("Expected {context:attribution} to {0}{reason}, but {1}", new FailureText(claim),
                new FailureText(AttributionClaimText.Agreement(Subject, patching, report, spearmanAtLeast, topKRecallAtLeast)));
        return new(this, report);
    }

    /// <summary>
    /// Asserts the false-negative claim of docs/methods.md §5: outside the attribution's verified top
    /// (<see cref="MissedEffectOptions.VerifiedTop"/>), no patched component has |effect| ≥
    /// <paramref name="effectThreshold"/>, and the zero-failure bound on the fraction of the pool with such an effect
    /// is at most <paramref name="fraction"/> (<see cref="MissedEffectDiagnostic"/>). On failure the message names the
    /// missed components with their effect, score and rank, and the sample size the bound would need.
    /// </summary>
    /// <param name="runs">The runs the attribution was computed on.</param>
    /// <param name="fraction">The largest acceptable bound on the fraction of the pool with a missed effect.</param>
    /// <param name="effectThreshold">θ in metric units: effects at least this large must not be missed.</param>
    /// <param name="options">Verified top, sample sizes, confidence, seed.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// star.Should().HaveMissedEffectBoundBelow(runs, fraction: 0.1, effectThreshold: 0.05,
    ///     new MissedEffectOptions { VerifiedTop = 10, Samples = 30 });
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<AttributionAssertions, MissedEffectReport> HaveMissedEffectBoundBelow(TaskRuns runs, double fraction, double effectThreshold,
        MissedEffectOptions? options = null, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        options ??= new MissedEffectOptions();
        string claim = $"miss no effect |effect| ≥ {Num.G(effectThreshold)} outside its top {Num.I(options.VerifiedTop)}, with a bound ≤ {Num.G(fraction)} on the fraction of the rest that could (confidence {Num.G(options.Confidence)})";
        if (!NotNull(claim, because, becauseArgs)) return new(this, (MissedEffectReport)null!);
        var report = MissedEffectDiagnostic.Run(runs, Subject, effectThreshold, options);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(report.Misses.Count == 0 && report.Bound <= fraction)
            .FailWith("Expected {context:attribution} to {0}{reason}, but {1}", new FailureText(claim), new FailureText(AttributionClaimText.MissedEffects(report, fraction)));
        return new(this, report);
    }

    /// <summary>Runs <paramref name="task"/> on <paramref name="model"/> once, then asserts as <see cref="HaveMissedEffectBoundBelow(TaskRuns, double, double, MissedEffectOptions, string, object[])"/>.</summary>
    /// <param name="model">The model backend.</param>
    /// <param name="task">The task.</param>
    /// <param name="fraction">The largest acceptable bound.</param>
    /// <param name="effectThreshold">θ in metric units.</param>
    /// <param name="options">Verified top, sample sizes, confidence, seed.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// star.Should().HaveMissedEffectBoundBelow(engine, task, fraction: 0.1, effectThreshold: 0.05);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<AttributionAssertions, MissedEffectReport> HaveMissedEffectBoundBelow(IModelBackend model, MechTask task, double fraction, double effectThreshold,
        MissedEffectOptions? options = null, string because = "", params object[] becauseArgs)
        => HaveMissedEffectBoundBelow(Runs.For(model, task), fraction, effectThreshold, options, because, becauseArgs);

    /// <summary>Runs <paramref name="task"/> on a loaded model once, then asserts as <see cref="HaveMissedEffectBoundBelow(TaskRuns, double, double, MissedEffectOptions, string, object[])"/>.</summary>
    /// <param name="model">A model from <c>ModelLoader.Load</c>.</param>
    /// <param name="task">The task.</param>
    /// <param name="fraction">The largest acceptable bound.</param>
    /// <param name="effectThreshold">θ in metric units.</param>
    /// <param name="options">Verified top, sample sizes, confidence, seed.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// star.Should().HaveMissedEffectBoundBelow(loaded, task, fraction: 0.1, effectThreshold: 0.05);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<AttributionAssertions, MissedEffectReport> HaveMissedEffectBoundBelow(LoadedModel model, MechTask task, double fraction, double effectThreshold,
        MissedEffectOptions? options = null, string because = "", params object[] becauseArgs)
        => HaveMissedEffectBoundBelow(Runs.For(model, task), fraction, effectThreshold, options, because, becauseArgs);

    private bool NotNull(string claim, string because, object[] becauseArgs)
        => Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null)
            .FailWith("Expected {context:attribution} to {0}{reason}, but found <null>.", new FailureText(claim));
}
