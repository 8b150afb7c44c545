using FluentAssertions;
using FluentAssertions.Execution;
using MechTests.Semantics;
using Xunit;
using Xunit.Sdk;
using static MechTests.FluentAssertions.ModelComponents;

namespace MechTests.FluentAssertions.Tests;

/// <summary>
/// Role claims: on the planted induction model (a0.h1 is a previous-token head, a1.h2 the induction head that writes
/// the answer; a1.h1 has the same pattern but W_O = 0) and on stories260K's name copy (a2.h6 attends to the name and
/// writes it: DLA 1.38 of the clean logit difference 5.74; a4.h2 writes against it: −0.47).
/// </summary>
public class RoleAssertionTests
{
    [Fact]
    public void ThePlantedHeadsPlayTheirRoles()
    {
        var engine = Models.Induction.CreateEngine();
        Head("a0.h1").Should().AttendToPreviousToken(engine, atLeast: 0.99).Which["a0.h1"].Should().BeGreaterThan(0.99);
        Head("a1.h2").Should().BeAnInductionHead(engine, atLeast: 0.5);
        Component("a1.h2").Should().PromoteTheAnswer(Models.InductionRuns, atLeast: 1.0)
            .Which.Total.Should().BeApproximately(Models.InductionRuns.CleanMetric, 1e-4);
    }

    [Fact]
    public void APreviousTokenHeadIsNoInductionHeadAndTheMessageSaysWhatWasMeasured()
    {
        var engine = Models.Induction.CreateEngine();
        var act = () => Head("a0.h1").Should().BeAnInductionHead(engine, 0.5, null, "it {0}", "copies");
        var message = act.Should().Throw<XunitException>().Which.Message;
        message.Should().StartWith("Expected head a0.h1 to be an induction head with a score of at least 0.5 because it copies, but its induction score was 9.358");
        message.Should().Contain("(highest: a1.h1 0.916183, a1.h2 0.916183, a0.h2 0.170834)");
        message.Should().Contain("Convention: mean attention probability from each position p of the repeated half to p − 3 + 1");
    }

    [Fact]
    public void AHeadThatWritesNothingDoesNotPromoteTheAnswer()
    {
        var act = () => Component("a1.h1").Should().PromoteTheAnswer(Models.InductionRuns, atLeast: 0.5);
        var message = act.Should().Throw<XunitException>().Which.Message;
        message.Should().StartWith("Expected component a1.h1 to promote the answer with a direct logit attribution of at least 0.5, but its score was 0 (clean logit difference ");
        message.Should().Contain("strongest promoters: a1.h2 ");
        message.Should().Contain("Convention: direct logit attribution to the clean logit difference");
        message.Should().Contain("scale frozen from the clean run");
    }

    [Fact]
    public void StoriesNameMoverPromotesAndANegativeHeadSuppressesTheName()
    {
        var runs = Models.StoriesRuns;
        using (new AssertionScope())
        {
            Component("a2.h6").Should().PromoteTheAnswer(runs, atLeast: 1.0).Which.Score("a2.h6").Should().BeApproximately(1.38, 0.01);
            Component("a4.h2").Should().SuppressTheAnswer(runs, atLeast: 0.3);
            var prompts = runs.Task.Pairs.Select(p => p.Clean).ToArray();
            var names = runs.Task.Pairs.Select(p => Array.IndexOf(p.Clean, p.Correct[0])).ToArray();
            Head("a2.h6").Should().AttendToPosition(runs.Model, prompts, names, atLeast: 0.6, positionName: "the name");
        }
        var act = () => Component("a2.h6").Should().SuppressTheAnswer(runs, atLeast: 0.1);
        act.Should().Throw<XunitException>().Which.Message.Should()
            .StartWith("Expected component a2.h6 to suppress the answer with a direct logit attribution of at most −0.1, but its score was 1.38")
            .And.Contain("strongest suppressors: a4.h2 -0.4675");
    }

    [Fact]
    public void AMisnamedComponentOrHeadIsNamed()
    {
        var act = () => Component("a9.h0").Should().PromoteTheAnswer(Models.InductionRuns, atLeast: 0.5);
        act.Should().Throw<XunitException>().Which.Message.Should().Contain("component a9.h0 to promote the answer").And.Contain("the model has no such component (components: input, pos_embed, a0.h0, a0.h1, a0.h2, m0, a1.h0, a1.h1, a1.h2, m1).");
        var head = () => Head("a5.h0").Should().AttendToPreviousToken(Models.Induction.CreateEngine(), atLeast: 0.5);
        head.Should().Throw<ArgumentException>().WithMessage("'a5.h0' is not a head of this model*");
        var dup = () => Head("a0.h1").Should().BeADuplicateTokenHead(Models.Induction.CreateEngine(), atLeast: 0.5);
        dup.Should().Throw<XunitException>().Which.Message.Should().Contain("its duplicate-token score was");
    }
}
