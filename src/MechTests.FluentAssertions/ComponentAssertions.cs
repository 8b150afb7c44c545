using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Primitives;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Semantics;

namespace MechTests.FluentAssertions;

/// <summary>
/// Role claims about a component's direct effect on the answer: its direct logit attribution
/// (<see cref="DirectLogitAttribution"/>, the final norm's scale frozen from the clean run) to the clean logit
/// difference. Obtain with <c>Component("a2.h6").Should()</c>.
/// </summary>
/// <example><code>
/// using static MechTests.FluentAssertions.ModelComponents;
///
/// using var runs = TaskRuns.Create(engine, task);
/// Component("a2.h6").Should().PromoteTheAnswer(runs, atLeast: 1.0);
/// Component("m4").Should().SuppressTheAnswer(runs, atLeast: 0.1);
/// </code></example>
public sealed class ComponentAssertions : ReferenceTypeAssertions<ModelComponent, ComponentAssertions>
{
    /// <summary>Wraps a component (null makes every assertion fail).</summary>
    public ComponentAssertions(ModelComponent subject) : base(subject) => MechTestsFormatters.Register();

    /// <inheritdoc />
    protected override string Identifier => "component";

    /// <summary>
    /// Asserts that the component writes the answer directly: its mean DLA score to the clean logit difference is at
    /// least <paramref name="atLeast"/> (logit units).
    /// </summary>
    /// <param name="runs">The task's runs.</param>
    /// <param name="atLeast">The smallest acceptable score.</param>
    /// <param name="weights">The model's weights; taken from the runs' engine when it is a <see cref="Transformer"/>.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// Component("a2.h6").Should().PromoteTheAnswer(runs, atLeast: 1.0).Which.MetricClean.Should().BePositive();
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<ComponentAssertions, DlaResult> PromoteTheAnswer(TaskRuns runs, double atLeast, ModelWeights? weights = null,
        string because = "", params object[] becauseArgs)
        => Check(runs, weights, atLeast, promote: true, because, becauseArgs);

    /// <summary>
    /// Asserts that the component writes against the answer directly: its mean DLA score is at most
    /// −<paramref name="atLeast"/> (<paramref name="atLeast"/> is the smallest acceptable suppression, ≥ 0).
    /// </summary>
    /// <param name="runs">The task's runs.</param>
    /// <param name="atLeast">The smallest acceptable suppression in logit units.</param>
    /// <param name="weights">The model's weights; taken from the runs' engine when it is a <see cref="Transformer"/>.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// Component("a3.h5").Should().SuppressTheAnswer(runs, atLeast: 0.02);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<ComponentAssertions, DlaResult> SuppressTheAnswer(TaskRuns runs, double atLeast, ModelWeights? weights = null,
        string because = "", params object[] becauseArgs)
        => Check(runs, weights, atLeast, promote: false, because, becauseArgs);

    private AndWhichConstraint<ComponentAssertions, DlaResult> Check(TaskRuns runs, ModelWeights? weights, double atLeast, bool promote, string because, object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (atLeast < 0) throw new ArgumentOutOfRangeException(nameof(atLeast), atLeast, "atLeast is a magnitude in logit units (≥ 0).");
        string claim = promote ? $"promote the answer with a direct logit attribution of at least {Num.G(atLeast)}"
                               : $"suppress the answer with a direct logit attribution of at most −{Num.G(atLeast)}";
        bool present = Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null)
            .FailWith("Expected {context:component} to {0}{reason}, but found <null>.", new FailureText(claim));
        if (!present) return new(this, (DlaResult)null!);
        weights ??= (runs.Model as Transformer)?.Weights
            ?? throw new ArgumentException("The runs' engine is not a Transformer: pass the model's weights (weights: model.Weights).", nameof(weights));
        var dla = DirectLogitAttribution.Run(runs, weights, Subject!.Name.Contains(".n", StringComparison.Ordinal) ? NodeGranularity.Neuron : NodeGranularity.Component);
        if (!dla.Scores.TryGetValue(Subject.Name, out double score))
        {
            Execute.Assertion.BecauseOf(because, becauseArgs)
                .FailWith("Expected {context:component} {0} to {1}{reason}, but the model has no such component (components: {2}).",
                    new FailureText(Subject.Name), new FailureText(claim), new FailureText(string.Join(", ", dla.Scores.Keys.Take(12)) + (dla.Scores.Count > 12 ? ", …" : "")));
            return new(this, dla);
        }
        bool ok = promote ? score >= atLeast : score <= -atLeast;
        var ranked = dla.Scores.Select(kv => (kv.Key, kv.Value)).OrderBy(x => promote ? -x.Value : x.Value);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(ok)
            .FailWith("Expected {context:component} {0} to {1}{reason}, but its score was {2} (clean logit difference {3}; strongest {4}: {5}). Convention: {6}.",
                new FailureText(Subject.Name), new FailureText(claim), new FailureText(Num.G(score)), new FailureText(Num.G(dla.MetricClean)),
                new FailureText(promote ? "promoters" : "suppressors"), new FailureText(RoleText.Top(ranked)), new FailureText(dla.Conventions));
        return new(this, dla);
    }
}
