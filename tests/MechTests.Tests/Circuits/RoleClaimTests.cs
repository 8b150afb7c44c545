using MechTests.Circuits;
using MechTests.Models;
using MechTests.Patching;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>
/// Role claims in circuit files (schema 3, docs/circuit-format.md "Role claims"): the canonical form and its
/// round trip, the reader's located errors, and what a claim that stops holding does to a diff and to verification —
/// on stories260K with a head's output projection zeroed, so the expected value is an exact fact (a head that writes
/// nothing has a direct logit attribution of 0) rather than a number the code computed.
/// </summary>
public class RoleClaimTests
{
    private static readonly Lazy<string> s_canonical = new(() => CircuitFileTests.Discover(CircuitFixtures.Gpt2Runs).ToJson());
    private static readonly Lazy<LoadedModel> s_stories = new(() => Models.Loading.ModelLoader.Load(TestPaths.Models("stories260K/stories260K.bin")));

    private static string NameCopy => Path.Combine(TestPaths.RepoRoot, "circuits", "name-copy.json");

    private static RoleClaim[] Claims =>
    [
        RoleClaim.SuppressesAnswer("a1.h2", atMost: -0.25).WithValue(-0.5),
        RoleClaim.InductionHead("a1.h0", atLeast: 0.3),
        RoleClaim.PromotesAnswer("a0.h1", atLeast: 0.5).WithValue(1.25),
        RoleClaim.PreviousTokenHead("a0.h3", atLeast: 0.4, RoleSource.TaskPrompts).WithValue(0.75),
    ];

    [Fact]
    public void RolesAreWrittenOnePerLineInGraphOrderAsSchemaThreeAndReadBack()
    {
        var file = CircuitFile.Parse(s_canonical.Value).WithRoles(Claims);
        string text = file.ToJson();
        var lines = text.Split('\n');
        int at = Array.IndexOf(lines, "  \"roles\": [");
        Assert.True(at > 0, text);
        Assert.Equal(new[]
        {
            "    {\"atLeast\": 0.5, \"claim\": \"promotes-answer\", \"node\": \"a0.h1\", \"on\": \"task\", \"value\": 1.25},",
            "    {\"atLeast\": 0.4, \"claim\": \"previous-token-head\", \"node\": \"a0.h3\", \"on\": \"task\", \"value\": 0.75},",
            "    {\"atLeast\": 0.3, \"claim\": \"induction-head\", \"node\": \"a1.h0\", \"on\": \"repeats(period=20,count=16,seed=0)\"},",
            "    {\"atMost\": -0.25, \"claim\": \"suppresses-answer\", \"node\": \"a1.h2\", \"on\": \"task\", \"value\": -0.5}",
            "  ],",
            "  \"schemaVersion\": 3,",
        }, lines[(at + 1)..(at + 7)]);

        var back = CircuitFile.Parse(text, "c.json");
        Assert.Equal(3, back.SchemaVersion);
        Assert.Equal(Claims.OrderBy(r => r.Node, StringComparer.Ordinal), back.Roles.OrderBy(r => r.Node, StringComparer.Ordinal));
        Assert.Equal(text, back.ToJson());
        Assert.Equal(text, file.WithRoles(Claims.Reverse()).ToJson()); // any input order, the same bytes
        Assert.Equal(new bool?[] { true, null, true, true }, Claims.Select(r => r.Holds)); // -0.5 ≤ -0.25; not measured; 1.25 ≥ 0.5; 0.75 ≥ 0.4
        // Without roles the file stays schema 1, readable by every older MechTests.
        Assert.Equal(s_canonical.Value, back.WithRoles().ToJson());
    }

    [Theory]
    [InlineData("\"node\": \"a0.h1\"", "\"node\": \"a9.h1\"", "\"a9.h1\"", CircuitFormatException.UnknownNameCode, "roles[0].node: node 'a9.h1' does not exist in a 2-layer, 4-head model (nodes: input, a0.h0..a1.h3, m0..m1).")]
    [InlineData("\"claim\": \"promotes-answer\"", "\"claim\": \"name-mover\"", "\"name-mover\"", CircuitFormatException.InvalidValueCode, "roles[0].claim: role 'name-mover' is unknown; expected one of promotes-answer, suppresses-answer, previous-token-head, induction-head, duplicate-token-head.")]
    [InlineData("{\"atLeast\": 0.5, \"claim\": \"promotes-answer\"", "{\"claim\": \"promotes-answer\"", "{\"claim\": \"promotes", CircuitFormatException.StructureCode, "roles[0]: missing field 'atLeast': a promotes-answer claim needs its threshold, the smallest DLA in logits, e.g. \"atLeast\": 0.5.")]
    [InlineData("{\"atMost\": -0.25, \"claim\": \"suppresses-answer\"", "{\"claim\": \"suppresses-answer\"", "{\"claim\": \"suppresses", CircuitFormatException.StructureCode, "roles[3]: missing field 'atMost': a suppresses-answer claim needs its threshold, the largest DLA in logits (≤ 0), e.g. \"atMost\": -0.2.")]
    [InlineData("{\"atMost\": -0.25, \"claim\": \"suppresses-answer\"", "{\"atLeast\": 0.25, \"claim\": \"suppresses-answer\"", "0.25, \"claim\": \"supp", CircuitFormatException.InvalidValueCode, "roles[3].atLeast: 'suppresses-answer' takes 'atMost' (the largest DLA, ≤ 0), not 'atLeast'.")]
    [InlineData("\"atLeast\": 0.4, \"claim\": \"previous-token-head\"", "\"atLeast\": 1.4, \"claim\": \"previous-token-head\"", "1.4, \"claim\": \"previous", CircuitFormatException.InvalidValueCode, "roles[1].atLeast: an attention score is a probability: 'atLeast' must be in [0, 1], found 1.4.")]
    [InlineData("\"node\": \"a0.h3\"", "\"node\": \"m0\"", "\"m0\", \"on\"", CircuitFormatException.InvalidValueCode, "roles[1].node: 'previous-token-head' is about where an attention head looks; 'm0' is not a head (a{l}.h{h}).")]
    [InlineData("\"node\": \"a1.h0\", \"on\": \"repeats(period=20,count=16,seed=0)\"", "\"node\": \"a1.h0\", \"on\": \"task\"", "\"node\": \"a1.h0\", \"on\": |\"task\"", CircuitFormatException.InvalidValueCode, "roles[2].on: 'induction-head' is measured on repeated random tokens ('repeats(period=P,count=C,seed=S)'); the task's prompts do not repeat.")]
    [InlineData("repeats(period=20,count=16,seed=0)", "repeats(period=1,count=16,seed=0)", "\"repeats(period=1", CircuitFormatException.InvalidValueCode, "roles[2].on: 'repeats(period=1,count=16,seed=0)' is not a source; expected 'task' or 'repeats(period=P,count=C,seed=S)' with P ≥ 2, C ≥ 1.")]
    [InlineData("{\"atMost\": -0.25, \"claim\": \"suppresses-answer\", \"node\": \"a1.h2\"", "{\"atLeast\": 0.25, \"claim\": \"promotes-answer\", \"node\": \"a0.h1\"", "0.25, \"claim\": |\"promotes-answer\", \"node\": \"a0.h1\"", CircuitFormatException.DuplicateCode, "roles[3].claim: role a0.h1 promotes-answer is claimed twice.")]
    [InlineData("\"on\": \"task\", \"value\": 1.25}", "\"on\": \"task\", \"value\": 1.25, \"because\": \"x\"}", "\"because\"", CircuitFormatException.StructureCode, "roles[0].because: unknown field 'because'; expected one of: atLeast, atMost, claim, node, on, value.")]
    [InlineData("\"schemaVersion\": 3", "\"schemaVersion\": 2", "\"roles\"", CircuitFormatException.StructureCode, "roles: unknown field 'roles'; expected one of: circuit, method, metrics, model, schemaVersion, task, tolerances.")]
    public void ARoleThatBreaksTheRulesIsALocatedCodedError(string find, string replacement, string pointsAt, string code, string expectedTail)
    {
        string text = CircuitFile.Parse(s_canonical.Value).WithRoles(Claims).ToJson();
        Assert.Contains(find, text);
        text = text.Replace(find, replacement, StringComparison.Ordinal);
        var e = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(text, "c.json"));
        Assert.Equal(code, e.Code);
        Assert.EndsWith(expectedTail, e.Message);
        // The position: where the offending token starts ('|' marks it inside a longer, unique context; the object for a missing field).
        int index = text.IndexOf(pointsAt.Replace("|", "", StringComparison.Ordinal), StringComparison.Ordinal) + Math.Max(0, pointsAt.IndexOf('|'));
        int line = text[..index].Count(c => c == '\n') + 1, column = index - text.LastIndexOf('\n', index - 1);
        Assert.Equal((line, column), (e.Line, e.Column));
    }

    [Fact]
    public void ANewerSchemaIsRefusedWithAnUpgradeMessage()
    {
        string text = CircuitFile.Parse(s_canonical.Value).WithRoles(Claims).ToJson().Replace("\"schemaVersion\": 3", "\"schemaVersion\": 4", StringComparison.Ordinal);
        var e = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(text, "c.json"));
        Assert.Equal(CircuitFormatException.SchemaVersionCode, e.Code);
        Assert.EndsWith("schemaVersion: schema version 4 was written by a newer MechTests; this version reads schema 1 to 3. Upgrade MechTests.", e.Message);
    }

    [Fact]
    public void WithRolesRefusesAClaimThatDoesNotFitOrIsGivenTwice()
    {
        var file = CircuitFile.Parse(s_canonical.Value);
        var e = Assert.Throws<ArgumentException>(() => file.WithRoles(RoleClaim.InductionHead("m1", 0.3)));
        Assert.StartsWith("role m1 induction-head: node: 'induction-head' is about where an attention head looks; 'm1' is not a head", e.Message);
        e = Assert.Throws<ArgumentException>(() => file.WithRoles(RoleClaim.PromotesAnswer("a0.h1", 0.5), RoleClaim.PromotesAnswer("a0.h1", 0.7)));
        Assert.StartsWith("role a0.h1 promotes-answer is claimed twice.", e.Message);
        var p = Assert.Throws<ArgumentException>(() => RoleClaim.Parse("a0.h1=promotes-answer", file.Circuit.Graph));
        Assert.StartsWith("--role 'a0.h1=promotes-answer': expected NODE=KIND:THRESHOLD[@ON]", p.Message);
        Assert.Equal(RoleClaim.SuppressesAnswer("a1.h2", -0.2), RoleClaim.Parse("a1.h2=suppresses-answer:-0.2", file.Circuit.Graph));
        Assert.Equal(RoleClaim.PreviousTokenHead("a1.h2", 0.4, RoleSource.TaskPrompts), RoleClaim.Parse("a1.h2=previous-token-head:0.4@task", file.Circuit.Graph));
    }

    [Theory]
    [InlineData(0.69, 0.6)]
    [InlineData(0.3, 0.3)]
    [InlineData(0.0123, 0.01)]
    [InlineData(7.9, 7)]
    [InlineData(12.5, 10)]
    [InlineData(0.2337755, 0.2)]
    public void ProposedThresholdsRoundTowardZeroToOneSignificantDigit(double x, double expected)
        => Assert.Equal(expected, RoleMeasurement.Down(x));

    /// <summary>stories260K with a2.h6's rows of W_O set to 0: the name mover writes nothing.</summary>
    private static (TaskRuns Runs, ModelWeights Weights) SilencedNameMover(CircuitFile claim)
    {
        var m = s_stories.Value;
        var weights = m.Weights.DeepClone();
        int dHead = m.Config.DHead, d = m.Config.DModel;
        Array.Clear(weights.Layers[2].Wo, 6 * dHead * d, dHead * d);
        var task = claim.Task.Resolve(claim.SourcePath!, m.Tokenizer, m.Config.VocabSize);
        return (TaskRuns.Create(new Transformer(m.Config, weights), task), weights);
    }

    [Fact]
    public void AHeadThatStopsWritingTheAnswerFailsItsClaimInTheDiffAndInVerification()
    {
        var claim = CircuitFile.Read(NameCopy);
        var (runs, weights) = SilencedNameMover(claim);
        using (runs)
        {
            var measured = RoleMeasurement.Measure(runs, weights, claim.Roles);
            var byNode = measured.ToDictionary(r => r.Node);
            Assert.Equal(0, byNode["a2.h6"].Value);   // exact: its write is the zero vector
            Assert.False(byNode["a2.h6"].Holds);
            // Layer 1 does not read layer 2: a1.h4's attention is untouched, so its recorded value stands (6 digits).
            Assert.Equal(claim.Roles.Single(r => r.Node == "a1.h4").Value!.Value, byNode["a1.h4"].Value!.Value, tolerance: 1e-6);

            var received = claim.WithRoles(measured);
            var diff = CircuitDiff.Compare(claim, received);
            Assert.Equal("a2.h6 promotes-answer", diff.RoleChanges[0].Role);
            Assert.Contains("  ~ a2.h6 promotes-answer: DLA 1.3816 -> 0 (Δ -1.3816; tolerance 0.0001 + 0.0001·max), claim atLeast 1 — claim no longer holds\n", diff.Render());
            Assert.DoesNotContain(diff.RoleChanges, c => c.Role.StartsWith("a1.h4", StringComparison.Ordinal));

            // Verification fails on the claim, and accepting cannot make it true: the snapshot keeps its bytes.
            using var tmp = CircuitFixtures.Temp();
            string verified = tmp.File("name-copy.verified.json");
            File.Copy(Path.ChangeExtension(NameCopy, null) + SnapshotVerifier.VerifiedSuffix, verified);
            byte[] before = File.ReadAllBytes(verified);
            var accepting = new SnapshotVerifier(new SnapshotSettings { AcceptRequested = true });
            var e = Assert.Throws<SnapshotMismatchException>(() => accepting.Verify(received, verified));
            Assert.Equal(SnapshotFailure.RoleClaimFailed, e.Failure);
            Assert.Contains("1 of 3 role claims of 'name-copy' does not hold:\n  a2.h6 promotes-answer: DLA 0 (claim atLeast 1; does not hold)\n    convention: direct logit attribution", e.Message);
            Assert.Contains("claim no longer holds", e.Message);
            Assert.Contains("A role claim that does not hold is never accepted", e.Message);
            Assert.Equal(before, File.ReadAllBytes(verified));
            Assert.True(File.Exists(tmp.File("name-copy.received.json")));
        }
    }

    [Fact]
    public void AutoProposalsOnNameCopyFollowTheDocumentedRule()
    {
        var claim = CircuitFile.Read(NameCopy);
        var m = s_stories.Value;
        using var runs = TaskRuns.Create(new Transformer(m.Config, m.Weights), claim.Task.Resolve(claim.SourcePath!, m.Tokenizer, m.Config.VocabSize));
        var proposed = RoleMeasurement.Propose(runs, m.Weights, claim.Circuit);
        // DLA (clean logit difference 5.737, 5 % = 0.287): a2.h6 1.382, a4.h0 1.840, a4.h2 −0.468, a4.h4 0.388 (docs/semantics.md, the
        // PyTorch-checked DLA); previous-token on the default repeats: a1.h4 0.656. Thresholds: half, toward zero, 1 digit.
        Assert.Equal(new[]
        {
            "a1.h4 previous-token-head atLeast 0.3",
            "a2.h6 promotes-answer atLeast 0.6",
            "a4.h0 promotes-answer atLeast 0.9",
            "a4.h2 suppresses-answer atMost -0.2",
            "a4.h4 promotes-answer atLeast 0.1",
        }, proposed.Select(r => $"{r.Name} {r.Threshold}"));
        Assert.All(proposed, r => Assert.True(r.Holds));
    }

    [Fact]
    public void AutoProposalsOnAShortContextUseTheLargestPeriodThatFits()
    {
        // models/induction-2l has 31 positions: the default repeats (BOS + 2·20 = 41) do not fit, period 15 (31) does.
        string path = Path.Combine(TestPaths.RepoRoot, "circuits", "induction.json");
        var claim = CircuitFile.Read(path);
        var m = Models.Loading.ModelLoader.Load(TestPaths.Models("induction-2l"));
        Assert.Equal(31, m.Config.MaxPositions);
        var on = RoleSource.RepeatsFor(m.Config)!;
        Assert.Equal("repeats(period=15,count=16,seed=0)", on.ToString());
        Assert.Equal(41, RoleSource.DefaultRepeats.Positions(m.Config));
        using var runs = TaskRuns.Create(new Transformer(m.Config, m.Weights), claim.Task.Resolve(claim.SourcePath!, m.Tokenizer, m.Config.VocabSize));
        var proposed = RoleMeasurement.Propose(runs, m.Weights, claim.Circuit);
        var heads = proposed.Where(r => !RoleKinds.IsDirectEffect(r.Kind)).ToList();
        // The previous-token head of layer 0 and the four induction heads of layer 1 the checked-in file claims by hand
        // (scores 0.70 and 0.85–0.87 on period 15), each on the period that fits.
        Assert.Equal(new[]
        {
            "a0.h1 previous-token-head", "a1.h0 induction-head", "a1.h1 induction-head", "a1.h2 induction-head", "a1.h3 induction-head",
        }, heads.Select(r => r.Name));
        Assert.All(heads, r => Assert.Equal(on, r.On));
        Assert.All(proposed, r => Assert.True(r.Holds, r.Describe()));
        // The recorded claims, measured on the same sequences, agree with the proposals' values.
        foreach (var r in heads)
            Assert.Equal(claim.Roles.Single(c => c.Name == r.Name).Value!.Value, r.Value!.Value, 5e-6);

        // A claim on the default repeats names what it needs and what fits.
        Assert.Equal("role a1.h0 induction-head on repeats(period=20,count=16,seed=0) needs 41 positions; the model has 31 " +
                     "(the largest period that fits: 15, e.g. @repeats(period=15,count=16,seed=0)).",
            RoleClaim.InductionHead("a1.h0", 0.5).ContextProblem(m.Config));
        Assert.Null(RoleClaim.InductionHead("a1.h0", 0.5, on).ContextProblem(m.Config));
        Assert.Null(RoleClaim.PreviousTokenHead("a1.h0", 0.5, RoleSource.TaskPrompts).ContextProblem(m.Config));
    }

    [Fact]
    public void AClaimWithAValueButNoThresholdDoesNotHold()
    {
        // Built in code without its threshold (the reader and WithRoles refuse such a claim; Holds must not throw).
        var noThreshold = new RoleClaim { Node = "a0.h1", Kind = RoleKinds.PromotesAnswer, On = RoleSource.TaskPrompts, Value = 1.5 };
        Assert.False(noThreshold.Holds);
        Assert.False((noThreshold with { Kind = RoleKinds.SuppressesAnswer, Value = -1.5 }).Holds);
        Assert.True((noThreshold with { AtLeast = 1 }).Holds);
        Assert.True((noThreshold with { Kind = RoleKinds.SuppressesAnswer, Value = -1.5, AtMost = -1 }).Holds);
    }

    [Fact]
    public void TheDocumentedRolesAreTheCheckedInOnesAndTheDocumentedDiffLineIsReal()
    {
        string doc = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "circuit-format.md"));
        string section = doc[doc.IndexOf("## Role claims", StringComparison.Ordinal)..];
        string block = section[(section.IndexOf("```json\n", StringComparison.Ordinal) + 8)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];
        var documented = block.Split('\n').Where(l => l.Contains("\"claim\"", StringComparison.Ordinal)).Select(l => l.Trim().TrimEnd(','));
        var committed = File.ReadAllLines(NameCopy).Where(l => l.Contains("\"claim\"", StringComparison.Ordinal)).Select(l => l.Trim().TrimEnd(','));
        Assert.Equal(committed, documented);
        Assert.Contains("  ~ a2.h6 promotes-answer: DLA 1.3816 -> 0 (Δ -1.3816; tolerance 0.0001 + 0.0001·max), claim atLeast 1 — claim no longer holds\n", section);
    }
}
