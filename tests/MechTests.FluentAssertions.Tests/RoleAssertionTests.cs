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

    [Fact]
    public void TheCheckedInNameCopyRolesHoldAndAStricterClaimFailsWithItsMeasuredValue()
    {
        var file = Circuits.CircuitFile.Read(Path.Combine(Models.RepoRoot, "circuits", "name-copy.json"));
        file.Should().HaveItsRolesHold(Models.Stories).Which.Select(r => r.Name).Should()
            .Equal("a1.h4 previous-token-head", "a2.h6 promotes-answer", "a4.h2 suppresses-answer");

        // The same file claiming more than a2.h6 writes (DLA 1.38): the message has the value, the threshold, the record, the convention.
        var stricter = file.WithRoles(file.Roles.Select(r => r.Node == "a2.h6" ? r with { AtLeast = 2 } : r));
        var message = Fails.With(() => stricter.Should().HaveItsRolesHold(Models.Stories, "the name mover {0}", "copies"));
        message.Should().StartWith("Expected stricter to have its role claims hold because the name mover copies, but 1 of 3 did not:\n" +
                                   "  a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 2; does not hold); recorded 1.3816\n" +
                                   "    convention: direct logit attribution to the clean logit difference");
        message.Should().Contain("Task 'name-copy', ");

        // Another model's identity is refused before anything is measured; a file without roles claims nothing to check.
        Fails.With(() => file.Should().HaveItsRolesHold(Models.InductionLoaded)).Should().Contain("but the model is another one");
        Fails.With(() => file.WithRoles().Should().HaveItsRolesHold(Models.Stories)).Should().Contain("but it claims no roles");
    }
}
