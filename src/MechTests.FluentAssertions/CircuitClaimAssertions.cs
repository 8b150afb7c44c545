using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Primitives;
using MechTests.Circuits;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.FluentAssertions;

/// <summary>
/// The causal claims about a circuit (docs/methods.md §8) — faithful, complete, minimal — checked against a model with
/// corrupted-patch ablation at all positions. Shared by <see cref="CircuitAssertions"/> and
/// <see cref="CircuitFileAssertions"/>. Each claim takes the model and task (run once for that call), a
/// <see cref="LoadedModel"/> and task, or prepared <see cref="TaskRuns"/> so that a test checking several claims
/// runs the model once.
/// </summary>
/// <typeparam name="TSubject">The asserted object.</typeparam>
/// <typeparam name="TAssertions">The concrete assertions type (for chaining).</typeparam>
/// <example><code>
/// var runs = TaskRuns.Create(engine, task);
/// circuit.Should().BeFaithful(runs, atLeast: 0.8).And.BeComplete(runs).And.BeMinimal(runs, delta: 0.01);
/// file.Should().BeFaithful(model, atLeast: 0.85);   // the same claims on a circuit file, with its own task
/// </code></example>
public abstract class CircuitClaimAssertions<TSubject, TAssertions> : ReferenceTypeAssertions<TSubject, TAssertions>
    where TSubject : class
    where TAssertions : CircuitClaimAssertions<TSubject, TAssertions>
{
    /// <summary>Wraps <paramref name="subject"/> (which may be null: every claim then fails).</summary>
    /// <param name="subject">The asserted object.</param>
    /// <example><code>
    /// public sealed class MyClaimAssertions(MyClaim subject) : CircuitClaimAssertions&lt;MyClaim, MyClaimAssertions&gt;(subject) { … }
    /// </code></example>
    protected CircuitClaimAssertions(TSubject subject) : base(subject) => MechTestsFormatters.Register();

    /// <summary>The circuit the claims are about (null when the subject is null).</summary>
    /// <param name="subject">The asserted object.</param>
    /// <example><code>
    /// protected override Circuit? CircuitOf(CircuitFile? subject) => subject?.Circuit;
    /// </code></example>
    protected abstract Circuit? CircuitOf(TSubject? subject);

    /// <summary>Why the subject cannot be checked against this model (empty when it can), e.g. a file written for other weights.</summary>
    /// <param name="model">The model a claim is about to run on.</param>
    /// <example><code>
    /// protected override IReadOnlyList&lt;string&gt; ModelMismatches(LoadedModel model)
    ///     => Subject is null ? [] : Subject.Model.Mismatches(model.Config, model.WeightsSha256);
    /// </code></example>
    protected virtual IReadOnlyList<string> ModelMismatches(LoadedModel model) => [];

    /// <summary>
    /// Asserts f(C) = (L(C) − L(corrupted)) / (L(clean) − L(corrupted)) ≥ <paramref name="atLeast"/>, where L(C) is the
    /// metric with every edge outside the circuit carrying its corrupted value. Not clamped: f above 1 passes (report
    /// it via <see cref="AndWhichConstraint{TParent,TMatched}.Which"/>), NaN fails. On failure the message names the
    /// measured value, the threshold, L(C), L(clean), L(corrupted), the conventions, and the edges outside the circuit
    /// most likely missing.
    /// </summary>
    /// <param name="runs">Clean and corrupted runs of the task (shared between claims).</param>
    /// <param name="atLeast">The smallest acceptable faithfulness.</param>
    /// <param name="because">A phrase explaining why the claim should hold, with optional <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// var runs = TaskRuns.Create(engine, task);
    /// circuit.Should().BeFaithful(runs, atLeast: 0.8)
    ///     .Which.Value.Should().BeLessThan(1.2, "a circuit that overshoots is suspicious too");
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, FaithfulnessResult> BeFaithful(TaskRuns runs, double atLeast = 0.8, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        string claim = $"be faithful, f(C) ≥ {Num.G(atLeast)}";
        if (!Usable(runs, claim, because, becauseArgs, out var circuit)) return new((TAssertions)this, (FaithfulnessResult)null!);
        var f = CircuitEvaluation.Faithfulness(runs, circuit);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(f.Value >= atLeast)
            .FailWith("Expected {context:" + Identifier + "} to {0}{reason}, but {1}", new FailureText(claim), Failure(f.Value >= atLeast, runs, circuit, claim, CircuitClaimText.Faithfulness(runs, circuit, f)));
        return new((TAssertions)this, f);
    }

    /// <summary>Runs <paramref name="task"/> on <paramref name="model"/> once, then asserts as <see cref="BeFaithful(TaskRuns, double, string, object[])"/>.</summary>
    /// <param name="model">The model backend (e.g. a <see cref="Transformer"/>).</param>
    /// <param name="task">The task whose clean/corrupted pairs define the claim.</param>
    /// <param name="atLeast">The smallest acceptable faithfulness.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// circuit.Should().BeFaithful(new Transformer(m.Config, m.Weights), task, atLeast: 0.8);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, FaithfulnessResult> BeFaithful(IModelBackend model, MechTask task, double atLeast = 0.8, string because = "", params object[] becauseArgs)
        => BeFaithful(Runs.For(model, task), atLeast, because, becauseArgs);

    /// <summary>Runs <paramref name="task"/> on a loaded model once, then asserts as <see cref="BeFaithful(TaskRuns, double, string, object[])"/>.</summary>
    /// <param name="model">A model from <c>ModelLoader.Load</c>.</param>
    /// <param name="task">The task whose clean/corrupted pairs define the claim.</param>
    /// <param name="atLeast">The smallest acceptable faithfulness.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// var m = ModelLoader.Load("models/stories260K/stories260K.bin");
    /// circuit.Should().BeFaithful(m, MechTask.Load("tasks/name-copy.json", m.Tokenizer, m.Config.VocabSize), atLeast: 0.8);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, FaithfulnessResult> BeFaithful(LoadedModel model, MechTask task, double atLeast = 0.8, string because = "", params object[] becauseArgs)
        => SameModel(model, $"be faithful, f(C) ≥ {Num.G(atLeast)}", because, becauseArgs)
            ? BeFaithful(Runs.For(model, task), atLeast, because, becauseArgs)
            : new((TAssertions)this, (FaithfulnessResult)null!);

    /// <summary>
    /// Asserts completeness (Wang et al. 2023): for every knocked-out set K the search tries (the empty set, seeded
    /// random subsets, a greedy search), |F(C \ K) − F(M \ K)| / |L(clean) − L(corrupted)| ≤
    /// <paramref name="maxIncompleteness"/>. On failure the message names the worst K, both metrics, the search and
    /// the conventions.
    /// </summary>
    /// <param name="runs">Clean and corrupted runs of the task.</param>
    /// <param name="maxIncompleteness">The largest acceptable normalized incompleteness.</param>
    /// <param name="options">How the sets K are searched (defaults: 16 random sets, 3 greedy steps, seed 0).</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// circuit.Should().BeComplete(runs, maxIncompleteness: 0.1, new CompletenessOptions { RandomSets = 8, Seed = 1 });
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, CompletenessResult> BeComplete(TaskRuns runs, double maxIncompleteness = 0.1, CompletenessOptions? options = null,
        string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        string claim = $"be complete, normalized incompleteness ≤ {Num.G(maxIncompleteness)} for every K tried";
        if (!Usable(runs, claim, because, becauseArgs, out var circuit)) return new((TAssertions)this, (CompletenessResult)null!);
        var c = CircuitEvaluation.Completeness(runs, circuit, options);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(c.WorstNormalized <= maxIncompleteness)
            .FailWith("Expected {context:" + Identifier + "} to {0}{reason}, but {1}", new FailureText(claim), Failure(c.WorstNormalized <= maxIncompleteness, runs, circuit, claim, CircuitClaimText.Completeness(runs, c)));
        return new((TAssertions)this, c);
    }

    /// <summary>Runs <paramref name="task"/> on <paramref name="model"/> once, then asserts as <see cref="BeComplete(TaskRuns, double, CompletenessOptions, string, object[])"/>.</summary>
    /// <param name="model">The model backend.</param>
    /// <param name="task">The task.</param>
    /// <param name="maxIncompleteness">The largest acceptable normalized incompleteness.</param>
    /// <param name="options">How the sets K are searched.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// circuit.Should().BeComplete(engine, task, maxIncompleteness: 0.05);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, CompletenessResult> BeComplete(IModelBackend model, MechTask task, double maxIncompleteness = 0.1, CompletenessOptions? options = null,
        string because = "", params object[] becauseArgs)
        => BeComplete(Runs.For(model, task), maxIncompleteness, options, because, becauseArgs);

    /// <summary>Runs <paramref name="task"/> on a loaded model once, then asserts as <see cref="BeComplete(TaskRuns, double, CompletenessOptions, string, object[])"/>.</summary>
    /// <param name="model">A model from <c>ModelLoader.Load</c>.</param>
    /// <param name="task">The task.</param>
    /// <param name="maxIncompleteness">The largest acceptable normalized incompleteness.</param>
    /// <param name="options">How the sets K are searched.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// circuit.Should().BeComplete(loaded, task);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, CompletenessResult> BeComplete(LoadedModel model, MechTask task, double maxIncompleteness = 0.1, CompletenessOptions? options = null,
        string because = "", params object[] becauseArgs)
        => SameModel(model, "be complete", because, becauseArgs)
            ? BeComplete(Runs.For(model, task), maxIncompleteness, options, because, becauseArgs)
            : new((TAssertions)this, (CompletenessResult)null!);

    /// <summary>
    /// Asserts minimality in its simple form: removing any one component v (an edge; a head or MLP of a node-level
    /// circuit) lowers faithfulness by at least <paramref name="delta"/>, f(C) − f(C \ {v}) ≥ δ. On failure the
    /// message lists the components whose removal costs least.
    /// </summary>
    /// <param name="runs">Clean and corrupted runs of the task.</param>
    /// <param name="delta">δ: the smallest faithfulness drop that makes a component necessary.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// circuit.Should().BeMinimal(runs, delta: 0.01);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, MinimalityResult> BeMinimal(TaskRuns runs, double delta = 0.01, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        string claim = $"be minimal, removing any one component lowering f(C) by at least δ = {Num.G(delta)}";
        if (!Usable(runs, claim, because, becauseArgs, out var circuit)) return new((TAssertions)this, (MinimalityResult)null!);
        var m = CircuitEvaluation.Minimality(runs, circuit, delta);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(m.IsMinimal)
            .FailWith("Expected {context:" + Identifier + "} to {0}{reason}, but {1}", new FailureText(claim), Failure(m.IsMinimal, runs, circuit, claim, CircuitClaimText.Minimality(m)));
        return new((TAssertions)this, m);
    }

    /// <summary>Runs <paramref name="task"/> on <paramref name="model"/> once, then asserts as <see cref="BeMinimal(TaskRuns, double, string, object[])"/>.</summary>
    /// <param name="model">The model backend.</param>
    /// <param name="task">The task.</param>
    /// <param name="delta">δ: the smallest faithfulness drop that makes a component necessary.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// circuit.Should().BeMinimal(engine, task, delta: 0.05);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, MinimalityResult> BeMinimal(IModelBackend model, MechTask task, double delta = 0.01, string because = "", params object[] becauseArgs)
        => BeMinimal(Runs.For(model, task), delta, because, becauseArgs);

    /// <summary>Runs <paramref name="task"/> on a loaded model once, then asserts as <see cref="BeMinimal(TaskRuns, double, string, object[])"/>.</summary>
    /// <param name="model">A model from <c>ModelLoader.Load</c>.</param>
    /// <param name="task">The task.</param>
    /// <param name="delta">δ: the smallest faithfulness drop that makes a component necessary.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// circuit.Should().BeMinimal(loaded, task);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<TAssertions, MinimalityResult> BeMinimal(LoadedModel model, MechTask task, double delta = 0.01, string because = "", params object[] becauseArgs)
        => SameModel(model, "be minimal", because, becauseArgs)
            ? BeMinimal(Runs.For(model, task), delta, because, becauseArgs)
            : new((TAssertions)this, (MinimalityResult)null!);

    /// <summary>Fails (and returns false) when there is no circuit or it is over another graph than the model's.</summary>
    /// <summary>
    /// Called only when a claim fails: writes a picture of the failure (e.g. an HTML report) and returns its path, which
    /// the failure message then names; null (the default) writes nothing.
    /// </summary>
    /// <param name="runs">The runs the claim was checked on.</param>
    /// <param name="circuit">The circuit the claim is about.</param>
    /// <param name="failure">The failure, as one sentence (claim and measured values).</param>
    /// <example><code>
    /// protected override string? WriteFailureReport(TaskRuns runs, Circuit circuit, string failure)
    ///     => CircuitReport.WriteClaimFailure(Subject!, runs, failure);
    /// </code></example>
    protected virtual string? WriteFailureReport(TaskRuns runs, Circuit circuit, string failure) => null;

    private FailureText Failure(bool holds, TaskRuns runs, Circuit circuit, string claim, string text)
    {
        if (holds) return new FailureText(text); // passing claims never write a report
        try
        {
            return WriteFailureReport(runs, circuit, $"Expected {Identifier} to {claim}, but {text}") is { } path ? new FailureText($"{text}\nReport: {path}") : new FailureText(text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new FailureText($"{text}\n(report not written: {e.Message})"); // the report is a convenience; the failure stands
        }
    }

    private bool Usable(TaskRuns runs, string claim, string because, object[] becauseArgs, out Circuit circuit)
    {
        var found = CircuitOf(Subject);
        circuit = found!;
        if (!Execute.Assertion
                .BecauseOf(because, becauseArgs)
                .ForCondition(found is not null)
                .FailWith("Expected {context:" + Identifier + "} to {0}{reason}, but found <null>.", new FailureText(claim)))
            return false;
        var g = circuit.Graph;
        var r = runs.Graph;
        return Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(g.Layers == r.Layers && g.Heads == r.Heads && g.ParallelAttnMlp == r.ParallelAttnMlp)
            .FailWith("Expected {context:" + Identifier + "} to {0}{reason}, but it is over {1} and the model's graph is {2}.",
                new FailureText(claim), new FailureText(GraphShape(g)), new FailureText(GraphShape(r)));
    }

    private bool SameModel(LoadedModel model, string claim, string because, object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        var mismatches = ModelMismatches(model);
        return Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(mismatches.Count == 0)
            .FailWith("Expected {context:" + Identifier + "} to {0} on {1}{reason}, but it was written for another model:\n  {2}",
                new FailureText(claim), new FailureText(model.SourcePath), new FailureText(string.Join("\n  ", mismatches)));
    }

    private static string GraphShape(Graphs.ComputeGraph g)
        => $"a {Num.I(g.Layers)}-layer, {Num.I(g.Heads)}-head graph{(g.ParallelAttnMlp ? " (parallel attention/MLP)" : "")}";
}
