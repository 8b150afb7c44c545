using System.Reflection;
using System.Runtime.CompilerServices;
using FluentAssertions;
using FluentAssertions.Execution;
using MechTests.Circuits;
using MechTests.Models;

namespace MechTests.FluentAssertions;

/// <summary>
/// Assertions on a <see cref="CircuitFile"/>: the circuit claims on its <see cref="CircuitFile.Circuit"/> (refused
/// on a <see cref="LoadedModel"/> whose identity differs from the file's) and <c>MatchVerifiedSnapshot</c>.
/// Obtain with <c>file.Should()</c>.
/// </summary>
/// <example><code>
/// var file = CircuitFile.Create(CircuitDiscovery.TopN(runs.Graph, scores, 20), ModelIdentity.From(m), TaskReference.Inline(task));
/// file.Should().BeFaithful(runs, atLeast: 0.7).And.MatchVerifiedSnapshot("name-copy-top20");
/// </code></example>
public sealed class CircuitFileAssertions : CircuitClaimAssertions<CircuitFile, CircuitFileAssertions>
{
    /// <summary>Wraps a circuit file (null makes every assertion fail).</summary>
    /// <param name="subject">The circuit file.</param>
    /// <example><code>
    /// var assertions = new CircuitFileAssertions(CircuitFile.Read("circuits/name-copy.json"));   // what file.Should() returns
    /// </code></example>
    public CircuitFileAssertions(CircuitFile subject) : base(subject)
    {
    }

    /// <inheritdoc />
    protected override string Identifier => "circuit file";

    /// <inheritdoc />
    protected override Circuit? CircuitOf(CircuitFile? subject) => subject?.Circuit;

    /// <summary>Writes <c>NAME.claim.received.html</c> next to the circuit file: its report measured on the failing model, headed by the failure.</summary>
    /// <example><code>
    /// claim.Should().BeFaithful(tuned, m.Tokenizer, atLeast: 0.9);   // on failure: "Report: …/name-copy.claim.received.html"
    /// </code></example>
    protected override string? WriteFailureReport(Patching.TaskRuns runs, Circuit circuit, string failure)
        => Subject is null ? null : Reports.CircuitReport.WriteClaimFailure(Subject, runs, failure);

    /// <inheritdoc />
    protected override IReadOnlyList<string> ModelMismatches(LoadedModel model)
        => Subject is null ? [] : Subject.Model.Mismatches(model.Config, model.WeightsSha256);

    /// <summary>
    /// Verifies the file against its committed snapshot <c>X.verified.json</c> (<see cref="SnapshotVerifier"/>:
    /// membership exactly, numbers within the verified file's tolerances). A relative <paramref name="path"/> is
    /// taken from the folder of the calling source file, as Verify does; an absolute one is used as it is. On a
    /// mismatch <c>X.received.json</c> is written and the assertion fails with the semantic diff, both paths and
    /// the accept command. Accepting follows <paramref name="settings"/>, by default
    /// <c>BuildFacts.From(calling assembly).SnapshotSettings()</c>: only when asked
    /// (<c>MECHTESTS_ACCEPT=1</c> or <c>-p:MechTestsAccept=true</c>) and never on CI unless forced.
    /// </summary>
    /// <param name="path"><c>X</c> or <c>X.verified.json</c>, relative to the calling source file's folder, or absolute.</param>
    /// <param name="settings">Accept mode and CI detection; null reads the calling assembly's build facts and the environment.</param>
    /// <param name="because">A phrase explaining why the snapshot should match.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the calling source file.</param>
    /// <returns>The verification outcome (matched, created or updated) as <c>Which</c>; null when it failed.</returns>
    /// <example><code>
    /// [Fact]
    /// public void NameCopyCircuitIsStable()
    /// {
    ///     var file = CircuitFile.Create(CircuitDiscovery.Acdc(runs, 0.02), ModelIdentity.From(m), TaskReference.Inline(task));
    ///     file.Should().MatchVerifiedSnapshot("Snapshots/name-copy-acdc");   // Snapshots/name-copy-acdc.verified.json next to this file
    /// }
    /// </code></example>
    [CustomAssertion]
    [MethodImpl(MethodImplOptions.NoInlining)] // so GetCallingAssembly sees the test assembly
    public AndWhichConstraint<CircuitFileAssertions, SnapshotResult> MatchVerifiedSnapshot(string path, SnapshotSettings? settings = null, string because = "",
        [CallerFilePath] string callerFilePath = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var calling = Assembly.GetCallingAssembly();
        const string claim = "match its verified snapshot";
        if (!Execute.Assertion
                .BecauseOf(because)
                .ForCondition(Subject is not null)
                .FailWith("Expected {context:circuit file} to {0}{reason}, but found <null>.", new FailureText(claim)))
            return new(this, (SnapshotResult)null!);

        string? full = Path.IsPathRooted(path) ? path
            : Path.GetDirectoryName(callerFilePath) is { Length: > 0 } folder && Directory.Exists(folder) ? Path.Combine(folder, path)
            : null;
        if (!Execute.Assertion
                .BecauseOf(because)
                .ForCondition(full is not null)
                .FailWith("Expected {context:circuit file} to {0} at {1}{reason}, but the calling source file's folder {2} does not exist on this machine (tests built elsewhere?); pass an absolute path.",
                    new FailureText(claim), new FailureText(path), new FailureText(Path.GetDirectoryName(callerFilePath) ?? "(unknown)")))
            return new(this, (SnapshotResult)null!);

        var verifier = new SnapshotVerifier(settings ?? BuildFacts.From(calling).SnapshotSettings() with { ReportWriter = Reports.SnapshotReportWriter.Instance });
        try
        {
            return new(this, verifier.Verify(Subject!, full!));
        }
        catch (SnapshotMismatchException e)
        {
            Execute.Assertion
                .BecauseOf(because)
                .ForCondition(false)
                .FailWith("Expected {context:circuit file} to {0}{reason}, but it did not.\n{1}", new FailureText(claim), new FailureText(e.Message));
            return new(this, (SnapshotResult)null!);
        }
    }

    /// <summary>
    /// Verifies the file against the snapshot next to where it was read from: <c>circuits/name-copy.json</c> →
    /// <c>circuits/name-copy.verified.json</c> (a file from <see cref="CircuitPipeline.Rederive(CircuitFile, LoadedModel, IProgress{string}?, bool)"/>
    /// stands for its claim's path). Otherwise as <see cref="MatchVerifiedSnapshot(string, SnapshotSettings?, string, string)"/>.
    /// </summary>
    /// <param name="settings">Accept mode and CI detection; null reads the calling assembly's build facts and the environment.</param>
    /// <param name="because">A phrase explaining why the snapshot should match.</param>
    /// <returns>The verification outcome as <c>Which</c>; null when it failed.</returns>
    /// <example><code>
    /// var claim = CircuitFile.Read("circuits/name-copy.json");
    /// CircuitPipeline.Rederive(claim, model).Should().MatchVerifiedSnapshot();   // vs circuits/name-copy.verified.json
    /// </code></example>
    [CustomAssertion]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public AndWhichConstraint<CircuitFileAssertions, SnapshotResult> MatchVerifiedSnapshot(SnapshotSettings? settings = null, string because = "")
    {
        var calling = Assembly.GetCallingAssembly();
        if (!Execute.Assertion
                .BecauseOf(because)
                .ForCondition(Subject?.SourcePath is not null)
                .FailWith("Expected {context:circuit file} to match its verified snapshot{reason}, but it was not read from a file, so there is no snapshot next to it; pass the snapshot's path."))
            return new(this, (SnapshotResult)null!);
        string full = Path.ChangeExtension(Path.GetFullPath(Subject!.SourcePath!), null);
        return MatchVerifiedSnapshot(full, settings ?? BuildFacts.From(calling).SnapshotSettings(), because);
    }

    /// <summary>
    /// Runs the file's own task (inline, or the task file it references, checked against its hash) on
    /// <paramref name="model"/> and asserts faithfulness as the <c>BeFaithful(TaskRuns, …)</c> overload does.
    /// A model whose identity differs from the file's fails (use the <see cref="IModelBackend"/> overload for a fine-tune).
    /// </summary>
    /// <param name="model">The model the file was written for.</param>
    /// <param name="atLeast">The smallest acceptable faithfulness.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// CircuitFile.Read("circuits/name-copy.json").Should().BeFaithful(EmbeddedModels.LoadStories260K(), atLeast: 0.85);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<CircuitFileAssertions, FaithfulnessResult> BeFaithful(LoadedModel model, double atLeast = 0.8, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!NotNull($"be faithful, f(C) ≥ {Num.G(atLeast)}", because, becauseArgs)) return new(this, (FaithfulnessResult)null!);
        return BeFaithful(model, TaskOf(model.Tokenizer, model.Config.VocabSize), atLeast, because, becauseArgs);
    }

    /// <summary>As <see cref="BeFaithful(LoadedModel, double, string, object[])"/> on any backend and tokenizer, with no identity check (e.g. fine-tuned weights).</summary>
    /// <param name="model">The model backend, e.g. a <see cref="Transformer"/> over fine-tuned weights.</param>
    /// <param name="tokenizer">The tokenizer for a task stored as text (null when the task is inline token ids).</param>
    /// <param name="atLeast">The smallest acceptable faithfulness.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// claim.Should().BeFaithful(new Transformer(m.Config, tunedWeights), m.Tokenizer, atLeast: 0.8);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<CircuitFileAssertions, FaithfulnessResult> BeFaithful(IModelBackend model, Models.Tokenizers.ITokenizer? tokenizer, double atLeast = 0.8,
        string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!NotNull($"be faithful, f(C) ≥ {Num.G(atLeast)}", because, becauseArgs)) return new(this, (FaithfulnessResult)null!);
        return BeFaithful(model, TaskOf(tokenizer, model.Config.VocabSize), atLeast, because, becauseArgs);
    }

    /// <summary>
    /// Runs the file's own task on <paramref name="model"/> and asserts completeness as the
    /// <c>BeComplete(TaskRuns, …)</c> overload does. A model whose identity differs from the file's fails.
    /// </summary>
    /// <param name="model">The model the file was written for.</param>
    /// <param name="maxIncompleteness">The largest acceptable normalized incompleteness.</param>
    /// <param name="options">How the sets K are searched (defaults: 16 random sets, 3 greedy steps, seed 0).</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// CircuitFile.Read("circuits/name-copy.json").Should().BeComplete(EmbeddedModels.LoadStories260K(), maxIncompleteness: 0.2);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<CircuitFileAssertions, CompletenessResult> BeComplete(LoadedModel model, double maxIncompleteness = 0.1, CompletenessOptions? options = null,
        string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!NotNull($"be complete, normalized incompleteness ≤ {Num.G(maxIncompleteness)} for every K tried", because, becauseArgs)) return new(this, (CompletenessResult)null!);
        return BeComplete(model, TaskOf(model.Tokenizer, model.Config.VocabSize), maxIncompleteness, options, because, becauseArgs);
    }

    /// <summary>
    /// Runs the file's own task on <paramref name="model"/> and asserts minimality as the
    /// <c>BeMinimal(TaskRuns, …)</c> overload does. A model whose identity differs from the file's fails.
    /// </summary>
    /// <param name="model">The model the file was written for.</param>
    /// <param name="delta">δ: the smallest faithfulness drop that makes a component necessary.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// CircuitFile.Read("circuits/ioi.json").Should().BeMinimal(EmbeddedModels.LoadStories260K(), delta: 0.01);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<CircuitFileAssertions, MinimalityResult> BeMinimal(LoadedModel model, double delta = 0.01, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!NotNull($"be minimal, removing any one component lowering f(C) by at least δ = {Num.G(delta)}", because, becauseArgs)) return new(this, (MinimalityResult)null!);
        return BeMinimal(model, TaskOf(model.Tokenizer, model.Config.VocabSize), delta, because, becauseArgs);
    }

    /// <summary>
    /// Asserts the model still performs the file's task: its clean-minus-corrupted metric gap L(clean) − L(corrupted)
    /// keeps at least <paramref name="keepingAtLeast"/> of the gap the file recorded (same sign). Faithfulness is a
    /// ratio over that gap, so over a vanished gap it means nothing; check this alongside it after a fine-tune.
    /// </summary>
    /// <param name="model">The model backend (e.g. fine-tuned weights).</param>
    /// <param name="tokenizer">The tokenizer for a task stored as text (null when the task is inline token ids).</param>
    /// <param name="keepingAtLeast">The smallest acceptable fraction of the recorded gap.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <returns>The measured gap as <c>Which</c>.</returns>
    /// <example><code>
    /// using (new AssertionScope())
    /// {
    ///     claim.Should().PerformTheRecordedTask(tuned, m.Tokenizer, keepingAtLeast: 0.5);
    ///     claim.Should().BeFaithful(tuned, m.Tokenizer, atLeast: 0.8);
    /// }
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<CircuitFileAssertions, double> PerformTheRecordedTask(IModelBackend model, Models.Tokenizers.ITokenizer? tokenizer, double keepingAtLeast = 0.5,
        string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        string claim = $"perform its task, keeping at least {Num.G(keepingAtLeast)} of the recorded L(clean) − L(corrupted)";
        if (!Execute.Assertion
                .BecauseOf(because, becauseArgs)
                .ForCondition(Subject is not null && Subject.Metrics.ContainsKey("clean") && Subject.Metrics.ContainsKey("corrupted"))
                .FailWith("Expected {context:circuit file} to {0}{reason}, but it records no clean and corrupted metrics.", new FailureText(claim)))
            return new(this, double.NaN);
        var runs = Runs.For(model, TaskOf(tokenizer, model.Config.VocabSize));
        double recorded = Subject!.Metrics["clean"].Value - Subject.Metrics["corrupted"].Value;
        double gap = runs.CleanMetric - runs.CorruptedMetric;
        var conventions = Subject.Metrics["clean"].Conventions;
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(gap / recorded >= keepingAtLeast)
            .FailWith("Expected {context:circuit file} to {0}{reason}, but the gap is {1} against {2} recorded ({3} of it).\n  L(clean) = {4} (recorded {5}), L(corrupted) = {6} (recorded {7}); metric={8}; {9} pairs of task '{10}'.",
                new FailureText(claim), new FailureText(Num.G(gap)), new FailureText(Num.G(recorded)), new FailureText(Num.G(gap / recorded)),
                new FailureText(Num.G(runs.CleanMetric)), new FailureText(Num.G(Subject.Metrics["clean"].Value)),
                new FailureText(Num.G(runs.CorruptedMetric)), new FailureText(Num.G(Subject.Metrics["corrupted"].Value)),
                new FailureText(conventions.GetValueOrDefault("metric") ?? "?"), new FailureText(Num.I(runs.Task.Pairs.Count)), new FailureText(runs.Task.Name));
        return new(this, gap);
    }

    /// <summary>As <see cref="PerformTheRecordedTask(IModelBackend, Models.Tokenizers.ITokenizer?, double, string, object[])"/> on a loaded model.</summary>
    /// <param name="model">A loaded model.</param>
    /// <param name="keepingAtLeast">The smallest acceptable fraction of the recorded gap.</param>
    /// <param name="because">A phrase explaining why the claim should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <example><code>
    /// claim.Should().PerformTheRecordedTask(EmbeddedModels.LoadStories260K());
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<CircuitFileAssertions, double> PerformTheRecordedTask(LoadedModel model, double keepingAtLeast = 0.5, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        return PerformTheRecordedTask(ModelBackends.Create(model), model.Tokenizer, keepingAtLeast, because, becauseArgs);
    }

    /// <summary>
    /// Measures the file's role claims (<see cref="CircuitFile.Roles"/>: <c>a2.h6</c> promotes the answer, <c>a1.h4</c>
    /// is a previous-token head, …) on <paramref name="model"/> with the file's own task, as <c>mechtests verify</c>
    /// does, and asserts every one holds. The failure lists each claim that does not, with its measured value, its
    /// threshold, the value the file recorded and the convention. A model whose identity differs from the file's fails
    /// (use the <see cref="IModelBackend"/> overload for a fine-tune); a file that claims no roles fails too.
    /// </summary>
    /// <param name="model">The model the file was written for.</param>
    /// <param name="because">A phrase explaining why the claims should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <returns>The claims with their measured values as <c>Which</c>.</returns>
    /// <example><code>
    /// CircuitFile.Read("circuits/name-copy.json").Should().HaveItsRolesHold(EmbeddedModels.LoadStories260K());
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<CircuitFileAssertions, IReadOnlyList<RoleClaim>> HaveItsRolesHold(LoadedModel model, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!NotNull("have its role claims hold", because, becauseArgs)) return new(this, (IReadOnlyList<RoleClaim>)null!);
        var mismatches = ModelMismatches(model);
        if (!Execute.Assertion
                .BecauseOf(because, becauseArgs)
                .ForCondition(mismatches.Count == 0)
                .FailWith("Expected {context:circuit file} to have its role claims hold on its model{reason}, but the model is another one:\n  {0}",
                    new FailureText(string.Join("\n  ", mismatches))))
            return new(this, (IReadOnlyList<RoleClaim>)null!);
        return HaveItsRolesHold(ModelBackends.Create(model), model.Tokenizer, model.Weights, because, becauseArgs);
    }

    /// <summary>
    /// As <see cref="HaveItsRolesHold(LoadedModel, string, object[])"/> on any backend and tokenizer, with no identity
    /// check (e.g. fine-tuned weights: do the recorded roles survive the fine-tune?).
    /// </summary>
    /// <param name="model">The model backend, e.g. a <see cref="Transformer"/> over fine-tuned weights.</param>
    /// <param name="tokenizer">The tokenizer for a task stored as text (null when the task is inline token ids).</param>
    /// <param name="weights">The weights, for direct logit attribution; null takes them from a <see cref="Transformer"/>.</param>
    /// <param name="because">A phrase explaining why the claims should hold.</param>
    /// <param name="becauseArgs">Arguments of <paramref name="because"/>.</param>
    /// <returns>The claims with their measured values as <c>Which</c>.</returns>
    /// <example><code>
    /// claim.Should().HaveItsRolesHold(new Transformer(m.Config, tunedWeights), m.Tokenizer);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<CircuitFileAssertions, IReadOnlyList<RoleClaim>> HaveItsRolesHold(IModelBackend model, Models.Tokenizers.ITokenizer? tokenizer,
        ModelWeights? weights = null, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string claim = "have its role claims hold";
        if (!NotNull(claim, because, becauseArgs)) return new(this, (IReadOnlyList<RoleClaim>)null!);
        if (!Execute.Assertion
                .BecauseOf(because, becauseArgs)
                .ForCondition(Subject!.Roles.Count > 0)
                .FailWith("Expected {context:circuit file} to {0}{reason}, but it claims no roles (add a \"roles\" section, docs/circuit-format.md \"Role claims\").", new FailureText(claim)))
            return new(this, (IReadOnlyList<RoleClaim>)null!);
        using var runs = Runs.For(model, TaskOf(tokenizer, model.Config.VocabSize));
        var measured = RoleMeasurement.Measure(runs, weights, Subject.Roles);
        var failing = measured.Where(r => r.Holds != true).ToList();
        var recorded = Subject.Roles.ToDictionary(r => r.Name, StringComparer.Ordinal);
        string Line(RoleClaim r) => r.Explain(recorded[r.Name], convention: true);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(failing.Count == 0)
            .FailWith("Expected {context:circuit file} to {0}{reason}, but {1} of {2} did not:\n  {3}\n  Task '{4}', {5} pairs.",
                new FailureText(claim), new FailureText(Num.I(failing.Count)), new FailureText(Num.I(measured.Count)),
                new FailureText(string.Join("\n  ", failing.Select(Line))), new FailureText(runs.Task.Name), new FailureText(Num.I(runs.Task.Pairs.Count)));
        return new(this, measured);
    }

    private bool NotNull(string claim, string because, object[] becauseArgs)
        => Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null)
            .FailWith("Expected {context:circuit file} to {0}{reason}, but found <null>.", new FailureText(claim));

    private Tasks.MechTask TaskOf(Models.Tokenizers.ITokenizer? tokenizer, int vocabSize)
        => Subject!.Task.Resolve(Subject.SourcePath ?? "circuit", tokenizer, vocabSize);
}
