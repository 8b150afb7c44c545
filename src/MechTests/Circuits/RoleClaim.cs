using System.Globalization;
using System.Text.RegularExpressions;
using MechTests.Graphs;

namespace MechTests.Circuits;

/// <summary>
/// The kinds of role a circuit file can claim for one of its nodes (docs/circuit-format.md "Role claims",
/// docs/semantics.md for how each is measured).
/// </summary>
public static class RoleKinds
{
    /// <summary><c>promotes-answer</c>: direct logit attribution to the task's logit difference ≥ <c>atLeast</c> (logits).</summary>
    public const string PromotesAnswer = "promotes-answer";

    /// <summary><c>suppresses-answer</c>: direct logit attribution ≤ <c>atMost</c> (logits, ≤ 0).</summary>
    public const string SuppressesAnswer = "suppresses-answer";

    /// <summary><c>previous-token-head</c>: mean attention from p to p − 1 ≥ <c>atLeast</c>.</summary>
    public const string PreviousTokenHead = "previous-token-head";

    /// <summary><c>induction-head</c>: induction score on repeated random tokens ≥ <c>atLeast</c>.</summary>
    public const string InductionHead = "induction-head";

    /// <summary><c>duplicate-token-head</c>: duplicate-token score on repeated random tokens ≥ <c>atLeast</c>.</summary>
    public const string DuplicateTokenHead = "duplicate-token-head";

    /// <summary>Every kind, in the order documentation lists them.</summary>
    public static IReadOnlyList<string> All { get; } = [PromotesAnswer, SuppressesAnswer, PreviousTokenHead, InductionHead, DuplicateTokenHead];

    /// <summary>True for the kinds measured by direct logit attribution (any component but <c>logits</c>); the others are attention scores of a head.</summary>
    public static bool IsDirectEffect(string kind) => kind is PromotesAnswer or SuppressesAnswer;

    /// <summary>What the measured value is, for messages: <c>DLA</c>, <c>previous-token score</c>, ….</summary>
    public static string Measure(string kind) => kind switch
    {
        PromotesAnswer or SuppressesAnswer => "DLA",
        PreviousTokenHead => "previous-token score",
        InductionHead => "induction score",
        DuplicateTokenHead => "duplicate-token score",
        _ => "score",
    };
}

/// <summary>
/// Which sequences a head score is measured on (<c>on</c> of a role claim): <c>task</c> — the task's clean prompts —
/// or <c>repeats(period=P,count=C,seed=S)</c> — C sequences <c>BOS + R + R</c>, R of P tokens drawn by
/// <see cref="Semantics.RepeatedTokens.Generate"/> with seed S. Direct-effect claims are always on <c>task</c>.
/// </summary>
/// <param name="Task">True for the task's clean prompts.</param>
/// <param name="Period">|R| (repeats only).</param>
/// <param name="Count">Number of sequences (repeats only).</param>
/// <param name="Seed">Seed of <see cref="Random"/> (repeats only).</param>
/// <example><code>
/// var on = RoleSource.Parse("repeats(period=20,count=16,seed=0)");   // RoleSource.DefaultRepeats
/// </code></example>
public sealed record RoleSource(bool Task, int Period = 0, int Count = 0, int Seed = 0)
{
    /// <summary>The task's clean prompts.</summary>
    public static RoleSource TaskPrompts { get; } = new(true);

    /// <summary>16 sequences of period 20, seed 0: the default for head scores (as <c>mechtests attention --scores</c>).</summary>
    public static RoleSource DefaultRepeats { get; } = new(false, 20, 16, 0);

    /// <summary>
    /// The repeats head scores are proposed on for a model (<c>discover --roles auto</c>): <see cref="DefaultRepeats"/>
    /// when <c>BOS + R + R</c> of period 20 fits the model's context, else the largest period that fits (count 16,
    /// seed 0: period 15 for 31 positions with BOS); null when not even period 2 fits.
    /// </summary>
    /// <example><code>
    /// var on = RoleSource.RepeatsFor(model.Config);   // repeats(period=15,count=16,seed=0) on models/induction-2l
    /// </code></example>
    public static RoleSource? RepeatsFor(Models.ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (DefaultRepeats.Positions(config) <= config.MaxPositions) return DefaultRepeats;
        int period = (config.MaxPositions - Prefix(config)) / 2;
        return period >= 2 ? DefaultRepeats with { Period = period } : null;
    }

    /// <summary>The positions one sequence of this source takes on <paramref name="config"/> (<c>BOS + R + R</c>); 0 for <c>task</c>.</summary>
    public int Positions(Models.ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Task ? 0 : Prefix(config) + 2 * Period;
    }

    private static int Prefix(Models.ModelConfig config) => config.BosTokenId is null ? 0 : 1;

    private static readonly Regex s_repeats = new(@"^repeats\(period=(\d{1,4}),count=(\d{1,4}),seed=(\d{1,9})\)$", RegexOptions.CultureInvariant);

    /// <summary>The canonical text: <c>task</c> or <c>repeats(period=20,count=16,seed=0)</c>.</summary>
    public override string ToString() => Task ? "task" : string.Create(CultureInfo.InvariantCulture, $"repeats(period={Period},count={Count},seed={Seed})");

    /// <summary>Parses the canonical text; null when it is neither form (or the numbers are out of range).</summary>
    public static RoleSource? Parse(string text)
    {
        if (text == "task") return TaskPrompts;
        var m = s_repeats.Match(text);
        if (!m.Success) return null;
        int p = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), c = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        int s = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        return p >= 2 && c >= 1 ? new RoleSource(false, p, c, s) : null;
    }

    /// <summary>The forms <see cref="Parse"/> accepts, for messages.</summary>
    public const string Forms = "'task' or 'repeats(period=P,count=C,seed=S)' with P ≥ 2, C ≥ 1";
}

/// <summary>
/// A claim, recorded in a circuit file (schema version 3), that one node plays a role: <c>a2.h6</c> promotes the
/// answer by at least 0.5 logits, <c>a1.h4</c> is a previous-token head with a score of at least 0.4. The file also
/// records the <see cref="Value"/> measured when it was written; re-deriving measures it anew, snapshot verification
/// compares it within tolerance, and a claim whose measured value misses its threshold fails verification.
/// </summary>
/// <example><code>
/// var file = CircuitFile.Read("circuits/name-copy.json").WithRoles(
///     RoleClaim.PromotesAnswer("a2.h6", atLeast: 1.0),
///     RoleClaim.SuppressesAnswer("a4.h2", atMost: -0.3));
/// var measured = CircuitPipeline.Evaluate(file, model);           // fills in each role's Value
/// bool ok = measured.Roles.All(r =&gt; r.Holds == true);
/// </code></example>
public sealed record RoleClaim
{
    /// <summary>The node: <c>a{l}.h{h}</c> (every kind), or <c>input</c> / <c>m{l}</c> (direct-effect kinds).</summary>
    public required string Node { get; init; }

    /// <summary>The kind, one of <see cref="RoleKinds.All"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>The smallest value for which the claim holds (every kind but <c>suppresses-answer</c>).</summary>
    public double? AtLeast { get; init; }

    /// <summary>The largest value for which the claim holds (<c>suppresses-answer</c>, ≤ 0).</summary>
    public double? AtMost { get; init; }

    /// <summary>What the value is measured on (<see cref="RoleSource"/>).</summary>
    public required RoleSource On { get; init; }

    /// <summary>The measured value (null: not measured yet, e.g. a claim written by hand before re-deriving).</summary>
    public double? Value { get; init; }

    /// <summary>True when measured and within the threshold, false when measured and not (or there is no threshold), null when not measured.</summary>
    public bool? Holds => Value is not double v ? null
        : double.IsNaN(v) ? false
        : AtLeast is double a ? v >= a
        : AtMost is double m && v <= m;

    /// <summary><c>a2.h6 promotes-answer</c>: how diffs and messages name the claim.</summary>
    public string Name => $"{Node} {Kind}";

    /// <summary><c>atLeast 0.5</c> or <c>atMost -0.3</c>.</summary>
    public string Threshold => AtLeast is double a ? $"atLeast {Invariant.G(a)}" : $"atMost {Invariant.G(AtMost ?? double.NaN)}";

    /// <summary>The claim with <paramref name="value"/> as its measured value.</summary>
    public RoleClaim WithValue(double? value) => this with { Value = value };

    /// <summary>One line: <c>a2.h6 promotes-answer: DLA 1.38 (claim atLeast 1; holds)</c>.</summary>
    public string Describe() => $"{Name}: {RoleKinds.Measure(Kind)} {(Value is double v ? Invariant.G(v) : "not measured")} (claim {Threshold}{(Kind is RoleKinds.PromotesAnswer or RoleKinds.SuppressesAnswer ? "" : $", on {On}")}; {(Holds switch { true => "holds", false => "does not hold", null => "not measured" })})";

    /// <summary>
    /// The one explanation of a measured claim that logs, verification failures, assertions and the CLI share:
    /// <see cref="Describe"/>, then with <paramref name="convention"/> a second line saying what the value means
    /// (<c>\n    convention: direct logit attribution …</c>).
    /// </summary>
    /// <example><code>
    /// Console.Error.WriteLine(claim.Explain(convention: true));
    /// </code></example>
    public string Explain(bool convention = false)
        => Describe() + (convention ? $"\n    convention: {RoleMeasurement.Conventions(Kind)}" : "");

    /// <summary>
    /// <see cref="Explain(bool)"/> with the value a circuit file recorded for the same claim after the first line:
    /// <c>; recorded 1.3816</c>, <c>; recorded nothing</c> (claimed, never measured), or <c>; not claimed</c>
    /// (<paramref name="recorded"/> null: the file has no such claim).
    /// </summary>
    /// <example><code>
    /// // a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 1; holds); recorded 1.3816
    /// string line = measured.Explain(file.Roles.FirstOrDefault(r =&gt; r.Name == measured.Name));
    /// </code></example>
    public string Explain(RoleClaim? recorded, bool convention = false)
    {
        string was = recorded == null ? "; not claimed" : $"; recorded {(recorded.Value is double v ? Invariant.G(v) : "nothing")}";
        return Describe() + was + (convention ? $"\n    convention: {RoleMeasurement.Conventions(Kind)}" : "");
    }

    /// <inheritdoc />
    public override string ToString() => Describe();

    /// <summary><c>promotes-answer</c>: <paramref name="node"/>'s DLA to the task's logit difference is at least <paramref name="atLeast"/>.</summary>
    public static RoleClaim PromotesAnswer(string node, double atLeast) => new() { Node = node, Kind = RoleKinds.PromotesAnswer, AtLeast = atLeast, On = RoleSource.TaskPrompts };

    /// <summary><c>suppresses-answer</c>: <paramref name="node"/>'s DLA is at most <paramref name="atMost"/> (≤ 0).</summary>
    public static RoleClaim SuppressesAnswer(string node, double atMost) => new() { Node = node, Kind = RoleKinds.SuppressesAnswer, AtMost = atMost, On = RoleSource.TaskPrompts };

    /// <summary><c>previous-token-head</c> on <paramref name="on"/> (default: <see cref="RoleSource.DefaultRepeats"/>).</summary>
    public static RoleClaim PreviousTokenHead(string head, double atLeast, RoleSource? on = null) => new() { Node = head, Kind = RoleKinds.PreviousTokenHead, AtLeast = atLeast, On = on ?? RoleSource.DefaultRepeats };

    /// <summary><c>induction-head</c> on repeated random tokens (default: <see cref="RoleSource.DefaultRepeats"/>).</summary>
    public static RoleClaim InductionHead(string head, double atLeast, RoleSource? on = null) => new() { Node = head, Kind = RoleKinds.InductionHead, AtLeast = atLeast, On = on ?? RoleSource.DefaultRepeats };

    /// <summary><c>duplicate-token-head</c> on repeated random tokens (default: <see cref="RoleSource.DefaultRepeats"/>).</summary>
    public static RoleClaim DuplicateTokenHead(string head, double atLeast, RoleSource? on = null) => new() { Node = head, Kind = RoleKinds.DuplicateTokenHead, AtLeast = atLeast, On = on ?? RoleSource.DefaultRepeats };

    /// <summary>
    /// Parses the command-line form <c>NODE=KIND:THRESHOLD[@ON]</c>: <c>a2.h6=promotes-answer:0.5</c>,
    /// <c>a4.h2=suppresses-answer:-0.2</c> (the threshold is <c>atMost</c>), <c>a1.h4=previous-token-head:0.4@task</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Malformed, or a problem <see cref="Problem"/> finds.</exception>
    public static RoleClaim Parse(string text, ComputeGraph graph)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(graph);
        const string form = "expected NODE=KIND:THRESHOLD[@ON], e.g. a2.h6=promotes-answer:0.5, a4.h2=suppresses-answer:-0.2, a1.h4=previous-token-head:0.4@task";
        int eq = text.IndexOf('='), colon = text.IndexOf(':', Math.Max(eq, 0));
        if (eq <= 0 || colon < 0) throw new ArgumentException($"--role '{text}': {form}.");
        string node = text[..eq], kind = text[(eq + 1)..colon], rest = text[(colon + 1)..];
        int at = rest.IndexOf('@');
        string number = at >= 0 ? rest[..at] : rest;
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double threshold))
            throw new ArgumentException($"--role '{text}': threshold '{number}' is not a number; {form}.");
        RoleSource? on = null;
        if (at >= 0 && (on = RoleSource.Parse(rest[(at + 1)..])) == null)
            throw new ArgumentException($"--role '{text}': '@{rest[(at + 1)..]}' is not a source; expected {RoleSource.Forms}.");
        var claim = new RoleClaim
        {
            Node = node,
            Kind = kind,
            AtLeast = kind == RoleKinds.SuppressesAnswer ? null : threshold,
            AtMost = kind == RoleKinds.SuppressesAnswer ? threshold : null,
            On = on ?? (RoleKinds.IsDirectEffect(kind) ? RoleSource.TaskPrompts : RoleSource.DefaultRepeats),
        };
        if (Problem(claim, graph) is { } p) throw new ArgumentException($"--role '{text}': {p.Problem}");
        return claim;
    }

    /// <summary>
    /// Why this claim cannot be measured on a model with <paramref name="config"/>, or null: its <c>on</c> repeats are
    /// longer than the model's context. The message names the claim, the positions needed and available, and the
    /// largest period that fits.
    /// </summary>
    /// <example><code>
    /// // "role a1.h0 induction-head on repeats(period=20,count=16,seed=0) needs 41 positions; the model has 31 (…)"
    /// string? problem = RoleClaim.InductionHead("a1.h0", 0.5).ContextProblem(model.Config);
    /// </code></example>
    public string? ContextProblem(Models.ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int needed = On.Positions(config);
        if (needed <= config.MaxPositions) return null;
        var fits = RoleSource.RepeatsFor(config);
        return $"role {Name} on {On} needs {needed} positions; the model has {config.MaxPositions}" +
               (fits == null ? " (not even period 2 fits)." : $" (the largest period that fits: {fits.Period}, e.g. @{fits with { Count = On.Count, Seed = On.Seed }}).");
    }

    /// <summary>
    /// What is wrong with a claim on <paramref name="graph"/>, or null: an unknown kind, a node the graph lacks or that
    /// cannot play the role, a missing or misplaced threshold, a source the kind cannot be measured on. <c>Field</c> is
    /// the JSON field at fault (<c>node</c>, <c>claim</c>, <c>atLeast</c>, <c>atMost</c>, <c>on</c>).
    /// </summary>
    public static (string Field, string Code, string Problem)? Problem(RoleClaim claim, ComputeGraph graph)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(graph);
        if (!RoleKinds.All.Contains(claim.Kind))
            return ("claim", CircuitFormatException.InvalidValueCode, $"role '{claim.Kind}' is unknown; expected one of {string.Join(", ", RoleKinds.All)}.");
        if (!graph.TryNode(claim.Node, out var node))
            return ("node", CircuitFormatException.UnknownNameCode, $"node '{claim.Node}' does not exist in a {graph.Layers}-layer, {graph.Heads}-head model (nodes: input, a0.h0..a{graph.Layers - 1}.h{graph.Heads - 1}, m0..m{graph.Layers - 1}).");
        bool direct = RoleKinds.IsDirectEffect(claim.Kind);
        if (node.Kind == NodeKind.Logits)
            return ("node", CircuitFormatException.InvalidValueCode, "'logits' writes nothing; a role names a component (input, a{l}.h{h}, m{l}).");
        if (!direct && node.Kind != NodeKind.Head)
            return ("node", CircuitFormatException.InvalidValueCode, $"'{claim.Kind}' is about where an attention head looks; '{claim.Node}' is not a head (a{{l}}.h{{h}}).");
        bool suppress = claim.Kind == RoleKinds.SuppressesAnswer;
        if (suppress)
        {
            if (claim.AtLeast != null) return ("atLeast", CircuitFormatException.InvalidValueCode, "'suppresses-answer' takes 'atMost' (the largest DLA, ≤ 0), not 'atLeast'.");
            if (claim.AtMost is not double m) return ("atMost", CircuitFormatException.StructureCode, "missing field 'atMost': a suppresses-answer claim needs its threshold, the largest DLA in logits (≤ 0), e.g. \"atMost\": -0.2.");
            if (!(m <= 0)) return ("atMost", CircuitFormatException.InvalidValueCode, $"a suppressing component writes against the answer: 'atMost' must be ≤ 0, found {Invariant.G(m)}.");
        }
        else
        {
            if (claim.AtMost != null) return ("atMost", CircuitFormatException.InvalidValueCode, $"'{claim.Kind}' takes 'atLeast' (the smallest value), not 'atMost'.");
            if (claim.AtLeast is not double a) return ("atLeast", CircuitFormatException.StructureCode, $"missing field 'atLeast': a {claim.Kind} claim needs its threshold, {(direct ? "the smallest DLA in logits, e.g. \"atLeast\": 0.5" : "the smallest attention score in [0, 1], e.g. \"atLeast\": 0.4")}.");
            if (direct && !(a >= 0)) return ("atLeast", CircuitFormatException.InvalidValueCode, $"a promoting component writes towards the answer: 'atLeast' must be ≥ 0, found {Invariant.G(a)}.");
            if (!direct && !(a is >= 0 and <= 1)) return ("atLeast", CircuitFormatException.InvalidValueCode, $"an attention score is a probability: 'atLeast' must be in [0, 1], found {Invariant.G(a)}.");
        }
        if (direct && !claim.On.Task)
            return ("on", CircuitFormatException.InvalidValueCode, $"direct logit attribution is measured on the task's prompts: 'on' must be 'task', found '{claim.On}'.");
        if (claim.Kind is RoleKinds.InductionHead or RoleKinds.DuplicateTokenHead && claim.On.Task)
            return ("on", CircuitFormatException.InvalidValueCode, $"'{claim.Kind}' is measured on repeated random tokens ('repeats(period=P,count=C,seed=S)'); the task's prompts do not repeat.");
        return null;
    }
}
