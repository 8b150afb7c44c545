using System.Text;
using MechTests.Attribution;
using MechTests.Circuits;
using MechTests.Graphs;
using MechTests.Patching;
using MechTests.FluentAssertions.Formatting;

namespace MechTests.FluentAssertions;

/// <summary>The details of failed circuit claims: measured numbers, conventions, and the components to look at.</summary>
internal static class CircuitClaimText
{
    /// <summary>How many offending components a message lists.</summary>
    public const int Listed = 5;

    public static string Faithfulness(TaskRuns runs, Circuit circuit, FaithfulnessResult f)
    {
        var s = new StringBuilder();
        s.Append(double.IsNaN(f.Value)
            ? $"f(C) is NaN: the task does not separate clean from corrupted (L(clean) = L(corrupted) = {Num.G(f.CleanMetric)})."
            : $"f(C) = {Num.G(f.Value)}.");
        s.Append($"\n  f(C) = (L(C) − L(corrupted)) / (L(clean) − L(corrupted)), not clamped, with L(C) = {Num.G(f.CircuitMetric)}, L(clean) = {Num.G(f.CleanMetric)}, L(corrupted) = {Num.G(f.CorruptedMetric)}.");
        s.Append($"\n  Conventions: {f.Conventions}.");
        s.Append($"\n  Circuit: {CircuitFormatter.Describe(circuit, maxItems: 10)}.");
        AppendMissingCandidates(s, runs, circuit);
        return s.ToString();
    }

    public static string Completeness(TaskRuns runs, CompletenessResult c)
    {
        var w = c.Worst;
        var s = new StringBuilder();
        s.Append(double.IsNaN(c.WorstNormalized)
            ? "the normalized incompleteness is NaN: the task does not separate clean from corrupted."
            : $"it is {Num.G(c.WorstNormalized)} for K = {Set(w.Removed)} (found by the {w.Source} search).");
        s.Append($"\n  incompleteness(K) = |F(C \\ K) − F(M \\ K)| / |L(clean) − L(corrupted)|, with F(C \\ K) = {Num.G(w.CircuitMetric)}, F(M \\ K) = {Num.G(w.ModelMetric)}, |L(clean) − L(corrupted)| = {Num.G(Math.Abs(runs.CleanMetric - runs.CorruptedMetric))} ({Num.G(w.Incompleteness)} in metric units).");
        s.Append($"\n  Sets tried: {Num.I(c.SetsTried)} ({Search(c.Options)}).");
        s.Append($"\n  Conventions: {c.Conventions}.");
        var worst = c.Probes.OrderByDescending(p => p.Incompleteness).Take(Listed).ToList();
        s.Append("\n  Largest incompleteness found (metric units):");
        foreach (var p in worst)
            s.Append($"\n    {Num.G(p.Incompleteness)}  K = {Set(p.Removed)}  ({p.Source}; F(C \\ K) = {Num.G(p.CircuitMetric)}, F(M \\ K) = {Num.G(p.ModelMetric)})");
        return s.ToString();
    }

    public static string Minimality(MinimalityResult m)
    {
        var s = new StringBuilder();
        s.Append($"{Num.I(m.NotNecessary.Count)} of {Num.I(m.Drops.Count)} components are not necessary.");
        s.Append($"\n  f(C) = {Num.G(m.Faithfulness)}; drop(v) = f(C) − f(C \\ {{v}}), v removed alone, no re-pruning.");
        s.Append($"\n  Conventions: {m.Conventions}.");
        s.Append("\n  Least costly removals first:");
        foreach (var d in m.NotNecessary.OrderBy(d => double.IsNaN(d.Drop) ? double.NegativeInfinity : d.Drop).Take(2 * Listed))
            s.Append($"\n    {d.Component}  drop {Num.G(d.Drop)}  (f without it {Num.G(d.FaithfulnessWithout)})");
        if (m.NotNecessary.Count > 2 * Listed) s.Append($"\n    … and {Num.I(m.NotNecessary.Count - 2 * Listed)} more");
        return s.ToString();
    }

    public static string Search(CompletenessOptions o)
        => $"the empty set, {Num.I(o.RandomSets)} random sets with p = {Num.G(o.InclusionProbability)}, {Num.I(o.GreedySteps)} greedy steps over "
           + (o.GreedyCandidates is int k ? $"{Num.I(k)} sampled candidates each" : "every candidate") + $", seed {Num.I(o.Seed)}";

    public static string Set(IReadOnlyList<string> names) => names.Count == 0 ? "∅" : "{" + string.Join(", ", names) + "}";

    /// <summary>
    /// What a too-low faithfulness most likely misses: the components outside the circuit with the largest first-order
    /// attribution (EAP for edges, AtP for heads and MLPs; one backward pass per batch, computed only on failure).
    /// </summary>
    private static void AppendMissingCandidates(StringBuilder s, TaskRuns runs, Circuit circuit)
    {
        List<KeyValuePair<string, double>> outside;
        string what;
        if (circuit.Level == CircuitLevel.Edge)
        {
            var eap = EdgeAttribution.Eap(runs).Scores;
            outside = runs.Graph.Edges.Where(e => !circuit.Contains(e.Name)).Select(e => new KeyValuePair<string, double>(e.Name, eap[e.Name])).ToList();
            what = "Edges outside the circuit with the largest |EAP| score (signed_mean: a first-order estimate of each edge's patching effect; confirm by patching)";
        }
        else
        {
            var nodes = NodeSets.Build(runs.Model.Config, NodeGranularity.Component)
                .Where(n => runs.Graph.TryNode(n.Name, out var g) && g.Kind is NodeKind.Head or NodeKind.Mlp && !circuit.ContainsNode(n.Name)).ToList();
            var atp = nodes.Count == 0 ? new Dictionary<string, double>() : NodeAttribution.AtP(runs, nodes, Aggregation.SignedMean).Scores;
            outside = nodes.Select(n => new KeyValuePair<string, double>(n.Name, atp[n.Name])).ToList();
            what = "Heads and MLPs outside the circuit with the largest |AtP| score (signed_mean: a first-order estimate of each node's patching effect; confirm by patching)";
        }
        if (outside.Count == 0) return;
        s.Append($"\n  {what}:");
        // Stable order: |score| descending, then graph order (the lists are in graph order already).
        foreach (var kv in outside.Select((kv, i) => (kv, i)).OrderByDescending(x => Math.Abs(x.kv.Value)).ThenBy(x => x.i).Take(Listed).Select(x => x.kv))
            s.Append($"\n    {kv.Key}  {Num.G(kv.Value)}");
    }
}
