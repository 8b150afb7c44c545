using MechTests.Graphs;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Semantics;

namespace MechTests.Circuits;

/// <summary>
/// Measures the role claims of a circuit file (docs/semantics.md "Role claims in circuit files"): direct logit
/// attribution for <c>promotes-answer</c>/<c>suppresses-answer</c> on the file's task, head scores for the attention
/// kinds on the sequences each claim names. Each measurement is made once however many claims use it.
/// </summary>
/// <example><code>
/// using var runs = TaskRuns.Create(engine, task);
/// var measured = RoleMeasurement.Measure(runs, model.Weights, file.Roles);
/// foreach (var r in measured.Where(r =&gt; r.Holds != true)) Console.WriteLine(r.Describe());
/// </code></example>
public static class RoleMeasurement
{
    /// <summary>
    /// What each kind's value means, for messages and docs: the direct-effect kinds read
    /// <see cref="DirectLogitAttribution.Conventions"/>, the attention kinds a mean attention probability.
    /// </summary>
    public static string Conventions(string kind) => kind switch
    {
        RoleKinds.PromotesAnswer or RoleKinds.SuppressesAnswer => DirectLogitAttribution.Conventions,
        RoleKinds.PreviousTokenHead => "mean attention probability from each position p ≥ 1 to p − 1, over the sequences 'on' names",
        RoleKinds.InductionHead => "mean attention probability from each position p of the repeated half to p − period + 1, over the sequences 'on' names",
        RoleKinds.DuplicateTokenHead => "mean attention probability from each position p of the repeated half to p − period, over the sequences 'on' names",
        _ => "",
    };

    /// <summary>
    /// <paramref name="roles"/> with their <see cref="RoleClaim.Value"/> measured on <paramref name="runs"/> (the
    /// file's task on the model), same order.
    /// </summary>
    /// <param name="runs">The task's runs: DLA reads their clean caches; head scores run the same model.</param>
    /// <param name="weights">The model's weights (DLA needs the final norm and unembedding); null takes them from a <see cref="Transformer"/> engine.</param>
    /// <param name="roles">The claims.</param>
    /// <exception cref="InvalidOperationException">A direct-effect claim and no weights; repeats longer than the model's context.</exception>
    public static IReadOnlyList<RoleClaim> Measure(TaskRuns runs, ModelWeights? weights, IEnumerable<RoleClaim> roles)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(roles);
        var list = roles.ToList();
        if (list.Count == 0) return list;
        DlaResult? dla = null;
        var tables = new Dictionary<(string, RoleSource), HeadScoreTable>();
        var result = new List<RoleClaim>(list.Count);
        foreach (var role in list)
        {
            if (RoleKinds.IsDirectEffect(role.Kind))
            {
                dla ??= DirectLogitAttribution.Run(runs, WeightsFor(runs, weights, role));
                result.Add(role.WithValue(dla.Score(role.Node)));
                continue;
            }
            if (!tables.TryGetValue((role.Kind, role.On), out var table))
                tables[(role.Kind, role.On)] = table = HeadTable(runs, role);
            result.Add(role.WithValue(table[role.Node]));
        }
        return result;
    }

    /// <summary>
    /// Role claims proposed for the heads of <paramref name="circuit"/> from measurements (<c>mechtests discover
    /// --roles auto</c>): a head whose DLA is at least 5 % of |the clean logit difference| promotes the answer (at most −5 %: suppresses
    /// it); a previous-token score ≥ 0.5 makes a previous-token head, an induction or duplicate-token score ≥ 0.3 (on
    /// <see cref="RoleSource.RepeatsFor"/> the model: the default repeats, or the largest period its context holds,
    /// recorded in each claim's <c>on</c>) an induction or duplicate-token head; a context too short for period 2
    /// proposes no head-score claims, only DLA ones. Each threshold is
    /// <paramref name="keep"/> × the measured value, rounded toward zero to one significant digit (DLA 1.38 → atLeast
    /// 0.6 at the default 0.5), so the claim survives noise but not the head losing its role. Graph order, one kind
    /// after another; measured values filled in.
    /// </summary>
    /// <param name="runs">The task's runs.</param>
    /// <param name="weights">The model's weights (null: from a <see cref="Transformer"/> engine).</param>
    /// <param name="circuit">The circuit whose heads are examined.</param>
    /// <param name="keep">The fraction of the measured value the threshold keeps, in (0, 1].</param>
    public static IReadOnlyList<RoleClaim> Propose(TaskRuns runs, ModelWeights? weights, Circuit circuit, double keep = 0.5)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(circuit);
        if (!(keep is > 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(keep), keep, "the fraction of the measured value a proposed threshold keeps must be in (0, 1].");
        var heads = circuit.Nodes.Where(n => n.Kind == NodeKind.Head).Select(n => n.Name).ToList();
        var proposals = new List<RoleClaim>();
        if (heads.Count == 0) return proposals;
        var dla = DirectLogitAttribution.Run(runs, WeightsFor(runs, weights, RoleClaim.PromotesAnswer(heads[0], 0)));
        double minimum = 0.05 * Math.Abs(dla.MetricClean);
        // A context shorter than the default repeats gets the largest period it holds, so the trained small models
        // (31 or 10 positions) still get their head-score proposals; the claim's `on` records which.
        var repeats = RoleSource.RepeatsFor(runs.Model.Config);
        var prev = repeats == null ? null : HeadTable(runs, RoleClaim.PreviousTokenHead(heads[0], 0, repeats));
        var induction = repeats == null ? null : HeadTable(runs, RoleClaim.InductionHead(heads[0], 0, repeats));
        var duplicate = repeats == null ? null : HeadTable(runs, RoleClaim.DuplicateTokenHead(heads[0], 0, repeats));
        foreach (var h in heads)
        {
            double s = dla.Score(h);
            if (s > 0 && s >= minimum) proposals.Add(RoleClaim.PromotesAnswer(h, Down(s * keep)).WithValue(s));
            else if (s < 0 && -s >= minimum) proposals.Add(RoleClaim.SuppressesAnswer(h, -Down(-s * keep)).WithValue(s));
            if (repeats == null || prev == null || induction == null || duplicate == null) continue;
            if (prev[h] >= 0.5) proposals.Add(RoleClaim.PreviousTokenHead(h, Down(prev[h] * keep), repeats).WithValue(prev[h]));
            if (induction[h] >= 0.3) proposals.Add(RoleClaim.InductionHead(h, Down(induction[h] * keep), repeats).WithValue(induction[h]));
            if (duplicate[h] >= 0.3) proposals.Add(RoleClaim.DuplicateTokenHead(h, Down(duplicate[h] * keep), repeats).WithValue(duplicate[h]));
        }
        return proposals;
    }

    /// <summary>
    /// One line per role claim of <paramref name="measured"/> for logs and test output:
    /// <c>role a2.h6 promotes-answer: DLA 1.3816 (claim atLeast 1; holds); recorded 1.3816</c> — the recorded value
    /// from <paramref name="claimed"/> when given.
    /// </summary>
    /// <example><code>
    /// foreach (var line in RoleMeasurement.Lines(CircuitPipeline.Rederive(claim, model), claim)) output.WriteLine(line);
    /// </code></example>
    public static IReadOnlyList<string> Lines(CircuitFile measured, CircuitFile? claimed = null)
    {
        ArgumentNullException.ThrowIfNull(measured);
        var recorded = claimed?.Roles.ToDictionary(r => r.Name, StringComparer.Ordinal);
        return measured.Roles.Select(r => "role " + (recorded == null ? r.Explain() : r.Explain(recorded.GetValueOrDefault(r.Name)))).ToList();
    }

    /// <summary>Rounds a positive number toward zero to one significant digit (0.69 → 0.6, 0.0123 → 0.01).</summary>
    internal static double Down(double x)
    {
        if (!(x > 0)) return 0;
        double unit = Math.Pow(10, Math.Floor(Math.Log10(x)));
        double digit = Math.Floor(x / unit * (1 + 1e-12)); // 0.3/0.1 = 2.9999…: a float below a whole digit is that digit
        // Through decimal text, so 6 × 0.1 is written 0.6, not 0.6000000000000001.
        return double.Parse((digit * unit).ToString("G1", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static ModelWeights WeightsFor(TaskRuns runs, ModelWeights? weights, RoleClaim role)
        => weights ?? (runs.Model as Transformer)?.Weights
            ?? throw new InvalidOperationException($"role {role.Name} is measured by direct logit attribution, which needs the model's weights (final norm, unembedding); the {runs.Model.GetType().Name} backend does not expose them: pass the weights (e.g. LoadedModel.Weights).");

    private static HeadScoreTable HeadTable(TaskRuns runs, RoleClaim role)
    {
        var model = runs.Model;
        if (role.On.Task)
            return HeadScores.PreviousToken(model, runs.Task.Pairs.Select(p => p.Clean).ToList());
        RepeatedTokens repeats;
        try { repeats = RepeatedTokens.Generate(model.Config, role.On.Period, role.On.Count, role.On.Seed); }
        catch (ArgumentException e) { throw new InvalidOperationException($"role {role.Name} on {role.On}: {e.Message}", e); }
        return role.Kind switch
        {
            RoleKinds.PreviousTokenHead => HeadScores.PreviousToken(model, repeats.Sequences),
            RoleKinds.InductionHead => HeadScores.Induction(model, repeats),
            _ => HeadScores.DuplicateToken(model, repeats),
        };
    }
}
