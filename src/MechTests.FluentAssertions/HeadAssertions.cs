using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Primitives;
using MechTests.Models;
using MechTests.Semantics;

namespace MechTests.FluentAssertions;

/// <summary>
/// Role claims about where an attention head looks (<see cref="HeadScores"/>): previous-token, induction,
/// duplicate-token heads and attention to a named position. Each failure message gives the measured score, the
/// threshold, the convention and the heads that score highest. Obtain with <c>Head("a1.h4").Should()</c>.
/// </summary>
/// <example><code>
/// using static MechTests.FluentAssertions.ModelComponents;
///
/// Head("a0.h1").Should().AttendToPreviousToken(engine, atLeast: 0.9);
/// Head("a1.h2").Should().BeAnInductionHead(engine, atLeast: 0.5);
/// </code></example>
public sealed class HeadAssertions : ReferenceTypeAssertions<AttentionHead, HeadAssertions>
{
    /// <summary>Wraps a head (null makes every assertion fail).</summary>
    public HeadAssertions(AttentionHead subject) : base(subject) => MechTestsFormatters.Register();

    /// <inheritdoc />
    protected override string Identifier => "head";

    /// <summary>
    /// Asserts the head's previous-token score (mean attention from p to p − 1) is at least <paramref name="atLeast"/>,
    /// on <paramref name="prompts"/> or, without them, on seeded random repeated sequences.
    /// </summary>
    /// <example><code>
    /// Head("a0.h1").Should().AttendToPreviousToken(engine, atLeast: 0.9);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<HeadAssertions, HeadScoreTable> AttendToPreviousToken(IModelBackend model, double atLeast, IReadOnlyList<int[]>? prompts = null,
        string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Check("attend to the previous token", atLeast, because, becauseArgs,
            () => HeadScores.PreviousToken(model, prompts ?? DefaultRepeats(model.Config).Sequences));
    }

    /// <summary>
    /// Asserts the head's induction score (attention from the repeated half to the token after the current token's
    /// previous occurrence) is at least <paramref name="atLeast"/>; <paramref name="repeats"/> defaults to
    /// <see cref="RepeatedTokens.Generate"/>'s 16 sequences of period 20, seed 0 (shorter for a short context).
    /// </summary>
    /// <example><code>
    /// Head("a1.h2").Should().BeAnInductionHead(engine, atLeast: 0.5);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<HeadAssertions, HeadScoreTable> BeAnInductionHead(IModelBackend model, double atLeast, RepeatedTokens? repeats = null,
        string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Check("be an induction head", atLeast, because, becauseArgs, () => HeadScores.Induction(model, repeats ?? DefaultRepeats(model.Config)));
    }

    /// <summary>
    /// Asserts the head's duplicate-token score (attention from the repeated half to the previous occurrence of the
    /// same token) is at least <paramref name="atLeast"/>.
    /// </summary>
    /// <example><code>
    /// Head("a0.h3").Should().BeADuplicateTokenHead(engine, atLeast: 0.3);
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<HeadAssertions, HeadScoreTable> BeADuplicateTokenHead(IModelBackend model, double atLeast, RepeatedTokens? repeats = null,
        string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Check("be a duplicate-token head", atLeast, because, becauseArgs, () => HeadScores.DuplicateToken(model, repeats ?? DefaultRepeats(model.Config)));
    }

    /// <summary>
    /// Asserts that from each prompt's last position the head attends to a named position (one per prompt) with mean
    /// probability at least <paramref name="atLeast"/>.
    /// </summary>
    /// <example><code>
    /// // name-copy: the last position looks back at the introduced name
    /// Head("a2.h6").Should().AttendToPosition(engine, prompts, namePositions, atLeast: 0.5, positionName: "the name");
    /// </code></example>
    [CustomAssertion]
    public AndWhichConstraint<HeadAssertions, HeadScoreTable> AttendToPosition(IModelBackend model, IReadOnlyList<int[]> prompts, IReadOnlyList<int> positions,
        double atLeast, string positionName = "the named position", string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Check($"attend from the last position to {positionName}", atLeast, because, becauseArgs,
            () => HeadScores.AttentionToPosition(model, prompts, positions, positionName));
    }

    /// <summary>Period 20, or shorter so that a repeated sequence fits the model's context.</summary>
    private static RepeatedTokens DefaultRepeats(ModelConfig c)
        => RepeatedTokens.Generate(c, period: Math.Min(20, (c.MaxPositions - (c.BosTokenId.HasValue ? 1 : 0)) / 2));

    private AndWhichConstraint<HeadAssertions, HeadScoreTable> Check(string claim, double atLeast, string because, object[] becauseArgs, Func<HeadScoreTable> measure)
    {
        string text = $"{claim} with a score of at least {Num.G(atLeast)}";
        bool present = Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null)
            .FailWith("Expected {context:head} to {0}{reason}, but found <null>.", new FailureText(text));
        if (!present) return new(this, (HeadScoreTable)null!);
        var table = measure();
        double score = table[Subject!.Name]; // throws ArgumentException naming the valid heads for a bad name
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(score >= atLeast)
            .FailWith("Expected {context:head} {0} to {1}{reason}, but its {2} score was {3} (highest: {4}). Convention: {5}.",
                new FailureText(Subject.Name), new FailureText(text), new FailureText(table.Kind.Replace('_', '-')), new FailureText(Num.G(score)),
                new FailureText(RoleText.Top(table)), new FailureText(table.Conventions));
        return new(this, table);
    }
}
