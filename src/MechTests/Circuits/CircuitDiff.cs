using System.Text.Json.Nodes;

namespace MechTests.Circuits;

/// <summary>
/// Semantic comparison of two circuit files: membership exactly, scores and metrics within tolerances. Used by
/// snapshot verification and by <c>mechtests diff A.json B.json</c>.
/// </summary>
/// <example><code>
/// var diff = CircuitDiff.Compare(CircuitFile.Read("a.json"), CircuitFile.Read("b.json"));
/// if (!diff.AreEquivalent) Console.Write(diff.Render());
/// </code></example>
public static class CircuitDiff
{
    /// <summary>
    /// Differences from <paramref name="before"/> to <paramref name="after"/> under <paramref name="tolerances"/>
    /// (default: <paramref name="before"/>'s own tolerances — the committed file decides how strict it is).
    /// </summary>
    public static CircuitDiffResult Compare(CircuitFile before, CircuitFile after, CircuitTolerances? tolerances = null)
    {
        var tol = tolerances ?? before.Tolerances;
        var header = new List<ValueDifference>();
        void Exact(string field, object? a, object? b)
        {
            string? sa = Text(a), sb = Text(b);
            if (sa != sb) header.Add(new ValueDifference(field, sa, sb));
        }
        Exact("schemaVersion", before.SchemaVersion, after.SchemaVersion);
        var (ma, mb) = (before.Model, after.Model);
        Exact("model.architecture", ma.Architecture, mb.Architecture);
        Exact("model.nLayers", ma.NLayers, mb.NLayers);
        Exact("model.nHeads", ma.NHeads, mb.NHeads);
        Exact("model.dModel", ma.DModel, mb.DModel);
        Exact("model.vocabSize", ma.VocabSize, mb.VocabSize);
        Exact("model.parallelAttnMlp", ma.ParallelAttnMlp, mb.ParallelAttnMlp);
        Exact("model.weightsSha256", ma.WeightsSha256, mb.WeightsSha256);
        Exact("model.path", before.ModelPath, after.ModelPath);
        var (ta, tb) = (before.Task, after.Task);
        Exact("task.name", ta.Name, tb.Name);
        Exact("task.metric", ta.Metric, tb.Metric);
        Exact("task.path", ta.Path, tb.Path);
        Exact("task.sha256", ta.Sha256, tb.Sha256);
        Exact("task.pairs", PairsText(ta), PairsText(tb));
        Exact("method.name", before.Method, after.Method);
        foreach (var key in before.Parameters.Keys.Union(after.Parameters.Keys).Order(StringComparer.Ordinal))
            Exact($"method.parameters.{key}", before.Parameters.GetValueOrDefault(key), after.Parameters.GetValueOrDefault(key));
        Exact("circuit.level", before.Circuit.Level, after.Circuit.Level);
        Exact("tolerances.score", before.Tolerances.Score, after.Tolerances.Score);
        Exact("tolerances.faithfulness", before.Tolerances.Faithfulness, after.Tolerances.Faithfulness);
        Exact("tolerances.metric", before.Tolerances.Metric, after.Tolerances.Metric);
        Exact("tolerances.relative", before.Tolerances.Relative, after.Tolerances.Relative);

        // Membership by name, so files over different graphs still compare.
        var (ca, cb) = (before.Circuit, after.Circuit);
        var nodesA = ca.Nodes.Select(n => n.Name).ToList();
        var nodesB = cb.Nodes.Select(n => n.Name).ToList();
        var addedNodes = nodesB.Except(nodesA).ToList();
        var removedNodes = nodesA.Except(nodesB).ToList();
        var edgesA = ca.Edges.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var edgesB = cb.Edges.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        double? ScoreOf(Circuit c, string name) => c.Scores.TryGetValue(name, out double s) ? s : null;
        static double Mag(double? s) => s is double v && !double.IsNaN(v) ? Math.Abs(v) : -1;
        var addedEdges = cb.Edges.Where(e => !edgesA.Contains(e.Name)).Select(e => new EdgeDifference(e.Name, null, ScoreOf(cb, e.Name)))
            .OrderByDescending(d => Mag(d.After)).ThenBy(d => d.Name, StringComparer.Ordinal).ToList();
        var removedEdges = ca.Edges.Where(e => !edgesB.Contains(e.Name)).Select(e => new EdgeDifference(e.Name, ScoreOf(ca, e.Name), null))
            .OrderByDescending(d => Mag(d.Before)).ThenBy(d => d.Name, StringComparer.Ordinal).ToList();
        var scoreChanges = new List<EdgeDifference>();
        void CompareScores(IEnumerable<string> names, IReadOnlyDictionary<string, double> a, IReadOnlyDictionary<string, double> b)
        {
            foreach (var name in names)
            {
                bool hasA = a.TryGetValue(name, out double sa), hasB = b.TryGetValue(name, out double sb);
                if (hasA != hasB || (hasA && !tol.Within(sa, sb, tol.Score)))
                    scoreChanges.Add(new EdgeDifference(name, hasA ? sa : null, hasB ? sb : null));
            }
        }
        CompareScores(ca.Edges.Select(e => e.Name).Where(edgesB.Contains), ca.Scores, cb.Scores);
        CompareScores(nodesA.Intersect(nodesB), ca.NodeScores, cb.NodeScores);
        scoreChanges = scoreChanges.OrderByDescending(d => d.Delta is double x ? Math.Abs(x) : double.PositiveInfinity).ThenBy(d => d.Name, StringComparer.Ordinal).ToList();

        var metricChanges = new List<ValueDifference>();
        foreach (var name in before.Metrics.Keys.Union(after.Metrics.Keys).Order(StringComparer.Ordinal))
        {
            string p = $"metrics.{name}";
            bool hasA = before.Metrics.TryGetValue(name, out var a), hasB = after.Metrics.TryGetValue(name, out var b);
            if (!hasA || !hasB)
            {
                metricChanges.Add(new ValueDifference(p, hasA ? Invariant.G(a!.Value) : null, hasB ? Invariant.G(b!.Value) : null));
                continue;
            }
            if (a!.Unit != b!.Unit) metricChanges.Add(new ValueDifference($"{p}.unit", a.Unit, b.Unit));
            double valueTol = a.Unit == MetricUnits.Count ? 0 : tol.ForUnit(a.Unit);
            if (!(a.Unit == MetricUnits.Count ? a.Value.Equals(b.Value) : tol.Within(a.Value, b.Value, valueTol)))
                metricChanges.Add(new ValueDifference($"{p}.value", Invariant.G(a.Value), Invariant.G(b.Value), b.Value - a.Value, valueTol));
            foreach (var key in a.Conventions.Keys.Union(b.Conventions.Keys).Order(StringComparer.Ordinal))
            {
                string? x = a.Conventions.GetValueOrDefault(key), y = b.Conventions.GetValueOrDefault(key);
                if (x != y) metricChanges.Add(new ValueDifference($"{p}.conventions.{key}", x, y));
            }
            double detailTol = a.Unit == MetricUnits.Metric ? tol.Metric : tol.Faithfulness;
            CompareNodes($"{p}.details", a.Details, b.Details, detailTol, tol, metricChanges);
        }
        // The measured values themselves (faithfulness 0.91 -> 0.56) before what changed inside their details (which
        // edge is now the worst K), so a person reads the headline first; largest change first within each group.
        metricChanges = metricChanges
            .OrderBy(v => v.Field.Contains(".details", StringComparison.Ordinal) ? 1 : 0)
            .ThenByDescending(v => v.Delta is double d ? Math.Abs(d) : double.PositiveInfinity)
            .ThenBy(v => v.Field, StringComparer.Ordinal).ToList();
        return new CircuitDiffResult(tol, header, addedNodes, removedNodes, addedEdges, removedEdges, scoreChanges, metricChanges, CompareRoles(before, after, tol));
    }

    /// <summary>
    /// Role claims by (node, kind): added, removed, a threshold or source changed (exactly), a measured value moved
    /// beyond tolerance (DLA in task-metric units: the metric tolerance; attention scores: the faithfulness one).
    /// Each line says whether the claim holds before and after.
    /// </summary>
    private static List<RoleDifference> CompareRoles(CircuitFile before, CircuitFile after, CircuitTolerances tol)
    {
        var changes = new List<RoleDifference>();
        var a = before.Roles.ToDictionary(r => r.Name, StringComparer.Ordinal);
        var b = after.Roles.ToDictionary(r => r.Name, StringComparer.Ordinal);
        static string V(double? v) => v is double x ? Invariant.G(x) : "(not measured)";
        foreach (var name in before.Roles.Concat(after.Roles).Select(r => r.Name).Distinct(StringComparer.Ordinal))
        {
            bool hasA = a.TryGetValue(name, out var ra), hasB = b.TryGetValue(name, out var rb);
            if (!hasA || !hasB)
            {
                var r = (hasA ? ra : rb)!;
                changes.Add(new RoleDifference(name, "role", hasA ? r.Threshold : null, hasB ? r.Threshold : null,
                    Text: $"{(hasA ? "-" : "+")} {name} {r.Threshold}: {RoleKinds.Measure(r.Kind)} {V(r.Value)}{(hasB ? Verdict(null, r.Holds) : "")}"));
                continue;
            }
            if (ra!.Threshold != rb!.Threshold)
                changes.Add(new RoleDifference(name, "threshold", ra.Threshold, rb.Threshold,
                    Text: $"~ {name}: claim {ra.Threshold} -> {rb.Threshold}; {RoleKinds.Measure(rb.Kind)} {V(rb.Value)}{Verdict(ra.Holds, rb.Holds)}"));
            if (ra.On != rb.On)
                changes.Add(new RoleDifference(name, "on", ra.On.ToString(), rb.On.ToString(), Text: $"~ {name}: on {ra.On} -> {rb.On}"));
            double absTol = RoleKinds.IsDirectEffect(ra.Kind) ? tol.Metric : tol.Faithfulness;
            bool same = (ra.Value, rb.Value) switch
            {
                (null, null) => true,
                (double x, double y) => tol.Within(x, y, absTol),
                _ => false,
            };
            if (!same)
            {
                double? delta = ra.Value is double x && rb.Value is double y ? y - x : null;
                string how = delta is double d ? $" (Δ {(d >= 0 ? "+" : "")}{Invariant.G(d)}; tolerance {Invariant.G(absTol)} + {Invariant.G(tol.Relative)}·max)" : "";
                changes.Add(new RoleDifference(name, "value", ra.Value is double bv ? Invariant.G(bv) : null, rb.Value is double av ? Invariant.G(av) : null, delta, absTol,
                    $"~ {name}: {RoleKinds.Measure(ra.Kind)} {V(ra.Value)} -> {V(rb.Value)}{how}, claim {rb.Threshold}{Verdict(ra.Holds, rb.Holds)}"));
            }
        }
        // Claims that stopped holding first, then by size of the move.
        return changes.OrderBy(c => c.Text.Contains("no longer holds", StringComparison.Ordinal) ? 0 : 1)
            .ThenByDescending(c => c.Delta is double d ? Math.Abs(d) : double.PositiveInfinity)
            .ThenBy(c => c.Role, StringComparer.Ordinal).ToList();
    }

    private static string Verdict(bool? before, bool? after) => (before, after) switch
    {
        (true, false) => " — claim no longer holds",
        (_, false) => " — claim does not hold",
        (false, true) => " — claim holds now",
        (_, true) => " — claim holds",
        _ => "",
    };

    private static void CompareNodes(string path, JsonNode? a, JsonNode? b, double absTol, CircuitTolerances tol, List<ValueDifference> changes)
    {
        switch (a, b)
        {
            case (null, null): return;
            case (JsonObject oa, JsonObject ob):
                foreach (var key in oa.Select(kv => kv.Key).Union(ob.Select(kv => kv.Key)).Order(StringComparer.Ordinal))
                {
                    bool hasA = oa.TryGetPropertyValue(key, out var va), hasB = ob.TryGetPropertyValue(key, out var vb);
                    if (hasA != hasB) changes.Add(new ValueDifference($"{path}.{key}", hasA ? Leaf(va) : null, hasB ? Leaf(vb) : null));
                    else CompareNodes($"{path}.{key}", va, vb, absTol, tol, changes);
                }
                return;
            case (JsonArray xa, JsonArray xb):
                for (int i = 0; i < Math.Max(xa.Count, xb.Count); i++)
                {
                    if (i >= xa.Count || i >= xb.Count) changes.Add(new ValueDifference($"{path}[{i}]", i < xa.Count ? Leaf(xa[i]) : null, i < xb.Count ? Leaf(xb[i]) : null));
                    else CompareNodes($"{path}[{i}]", xa[i], xb[i], absTol, tol, changes);
                }
                return;
        }
        if (Number(a) is double na && Number(b) is double nb)
        {
            if (!tol.Within(na, nb, absTol)) changes.Add(new ValueDifference(path, Invariant.G(na), Invariant.G(nb), nb - na, absTol));
            return;
        }
        string? ta = Leaf(a), tb = Leaf(b);
        if (ta != tb) changes.Add(new ValueDifference(path, ta, tb));
    }

    private static double? Number(JsonNode? n)
    {
        if (n is not JsonValue v) return null;
        if (v.TryGetValue<double>(out double d)) return d;
        if (v.TryGetValue<int>(out int i)) return i;
        if (v.TryGetValue<long>(out long l)) return l;
        return null;
    }

    private static string? Leaf(JsonNode? n) => n switch
    {
        null => "null",
        JsonValue v when Number(v) is double d => Invariant.G(d),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => n.ToJsonString(),
    };

    private static string? Text(object? o) => o switch
    {
        null => null,
        double d => Invariant.R(d),
        bool b => b ? "true" : "false",
        CircuitLevel l => l == CircuitLevel.Edge ? "edge" : "node",
        _ => Convert.ToString(o, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string? PairsText(TaskReference t)
        => t.Pairs == null ? null
            : $"{t.Pairs.Count} pairs, hash {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join(';', t.Pairs.Select(p => $"{string.Join(',', p.Clean)}|{string.Join(',', p.Corrupted)}|{string.Join(',', p.Correct)}|{string.Join(',', p.Wrong)}")))))[..12]}";
}
