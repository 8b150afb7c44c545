using MechTests.Models.Tokenizers;
using Xunit;

namespace MechTests.Tests.Tokenizers;

/// <summary>
/// The tokenizer.json normalizers that the checked-in tokenizers do not use (found by coverage): Lowercase, Strip and
/// Replace, with Hugging Face's semantics — invariant lowercasing, trimming Unicode whitespace on the chosen sides,
/// replacing every literal occurrence or every regex match.
/// </summary>
public class NormalizerStepTests
{
    [Fact]
    public void Lowercase_lowers_every_script_invariantly()
        => Assert.Equal("hello äöü straße ıi σς", new LowercaseStep().Apply("HeLLo ÄÖÜ STRAßE ıI Σς", allowPrefix: true));

    [Theory]
    [InlineData(true, true, "a b")]
    [InlineData(true, false, "a b \u3000\n")]
    [InlineData(false, true, " \t a b")]
    [InlineData(false, false, " \t a b \u3000\n")]
    public void Strip_trims_the_chosen_sides(bool left, bool right, string expected)
        => Assert.Equal(expected, new StripStep(left, right).Apply(" \t a b \u3000\n", allowPrefix: true));

    [Fact]
    public void Replace_a_literal_replaces_every_occurrence_and_an_empty_literal_nothing()
    {
        Assert.Equal("a▁b▁▁c", new ReplaceStep(" ", null, "▁").Apply("a b  c", allowPrefix: true));
        Assert.Equal("abc", new ReplaceStep("", null, "x").Apply("abc", allowPrefix: true));
    }

    [Fact]
    public void Replace_a_pattern_replaces_every_match_and_leaves_text_without_matches_alone()
    {
        var runsOfSpaces = CodePointRegex.Get(" {2,}");
        Assert.Equal("a b c d", new ReplaceStep(null, runsOfSpaces, " ").Apply("a  b    c d", allowPrefix: true));
        Assert.Equal("abc", new ReplaceStep(null, runsOfSpaces, " ").Apply("abc", allowPrefix: true));
    }
}
