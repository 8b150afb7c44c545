using MechTests.Graphs;
using MechTests.Patching;

namespace MechTests.Circuits;

/// <summary>How the completeness search picks the sets K it knocks out.</summary>
public sealed record CompletenessOptions
{
    /// <summary>Random subsets of the circuit's components to try (each component joins with <see cref="InclusionProbability"/>).</summary>
    public int RandomSets { get; init; } = 16;

    /// <summary>Probability that a component joins a random K.</summary>
    public double InclusionProbability { get; init; } = 0.5;

    /// <summary>Greedy steps: each step adds to K the component that makes the incompleteness largest.</summary>
    public int GreedySteps { get; init; } = 3;

    /// <summary>Components tried per greedy step (a seeded sample); null tries all of them.</summary>
    public int? GreedyCandidates { get; init; }

    /// <summary>Seed of the random sets and candidate samples.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// The search as recorded in a circuit file's <c>completeness.conventions.search</c>, e.g.
    /// <c>empty+random(16,p=0.5)+greedy(3),seed=0</c>; <see cref="Parse"/> reads it back.
    /// </summary>
    public string Describe()
        => $"empty+random({RandomSets},p={Invariant.R(InclusionProbability)})+greedy({GreedySteps}{(GreedyCandidates is int m ? $",candidates={m}" : "")}),seed={Seed}";

    /// <summary>Reads a <see cref="Describe"/> text back, so a re-derivation repeats the recorded search exactly.</summary>
    /// <example><code>
    /// var o = CompletenessOptions.Parse("empty+random(4,p=0.5)+greedy(2),seed=1");   // RandomSets 4, GreedySteps 2, Seed 1
    /// </code></example>
    public static CompletenessOptions Parse(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text,
            @"^empty\+random\((\d+),p=([0-9.Ee+-]+)\)\+greedy\((\d+)(?:,candidates=(\d+))?\),seed=(-?\d+)$");
        if (!m.Success)
            throw new FormatException($"completeness search '{text}' is not understood; expected e.g. 'empty+random(16,p=0.5)+greedy(3),seed=0'.");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return new CompletenessOptions
        {
            RandomSets = int.Parse(m.Groups[1].Value, inv),
            InclusionProbability = double.Parse(m.Groups[2].Value, inv),
            GreedySteps = int.Parse(m.Groups[3].Value, inv),
            GreedyCandidates = m.Groups[4].Success ? int.Parse(m.Groups[4].Value, inv) : null,
            Seed = int.Parse(m.Groups[5].Value, inv),
        };
    }
}

/// <summary>One knocked-out set K and what it did.</summary>
/// <param name="Removed">K: component names (edges, or nodes for node-level circuits), in graph order.</param>
/// <param name="Source"><c>empty</c>, <c>random</c> or <c>greedy</c>.</param>
/// <param name="CircuitMetric">F(C \ K): metric of the circuit run with K also patched.</param>
/// <param name="ModelMetric">F(M \ K): metric of the full model with only K patched.</param>
/// <param name="Incompleteness">|F(C \ K) − F(M \ K)| in metric units.</param>
public sealed record CompletenessProbe(IReadOnlyList<string> Removed, string Source, double CircuitMetric, double ModelMetric, double Incompleteness);

/// <summary>
/// Completeness (Wang et al. 2023): a complete circuit responds to knocking out any K ⊆ C as the whole model does.
/// Reports the worst K found.
/// </summary>
public sealed class CompletenessResult
{
    internal CompletenessResult(IReadOnlyList<CompletenessProbe> probes, double scale, CompletenessOptions options, EvaluationConventions conventions)
    {
        Probes = probes;
        Options = options;
        Conventions = conventions;
        Worst = probes.Aggregate((a, b) => b.Incompleteness > a.Incompleteness ? b : a);
        WorstNormalized = scale == 0 ? double.NaN : Worst.Incompleteness / scale;
    }

    /// <summary>Every set tried, in the order tried (the empty set first).</summary>
    public IReadOnlyList<CompletenessProbe> Probes { get; }

    /// <summary>Number of distinct sets K tried.</summary>
    public int SetsTried => Probes.Count;

    /// <summary>The K with the largest incompleteness (first found on ties).</summary>
    public CompletenessProbe Worst { get; }

    /// <summary>Worst incompleteness in metric units.</summary>
    public double WorstIncompleteness => Worst.Incompleteness;

    /// <summary>Worst incompleteness ÷ |L(clean) − L(corrupted)| (comparable to faithfulness).</summary>
    public double WorstNormalized { get; }

    /// <summary>The search settings.</summary>
    public CompletenessOptions Options { get; }

    /// <summary>Evaluation conventions (patched = complement+K / K).</summary>
    public EvaluationConventions Conventions { get; }
}

public static partial class CircuitEvaluation
{
    /// <summary>
    /// Incompleteness(K) = |F(C \ K) − F(M \ K)|, where F(X) is the metric with only X kept: knocking K out patches
    /// K's edges (for node-level circuits, every edge touching a node of K) to corrupted values, in the circuit run
    /// and in the full model. Tries K = ∅, seeded random subsets, then a greedy search that grows K one component at
    /// a time, keeping the component that maximises incompleteness. Two circuit runs per set.
    /// </summary>
    /// <example><code>
    /// var comp = CircuitEvaluation.Completeness(runs, circuit, new CompletenessOptions { RandomSets = 10, Seed = 1 });
    /// Console.WriteLine($"worst {comp.WorstNormalized:F3} with K = {string.Join(", ", comp.Worst.Removed)} ({comp.SetsTried} sets)");
    /// </code></example>
    public static CompletenessResult Completeness(TaskRuns runs, Circuit circuit, CompletenessOptions? options = null, IProgress<int>? progress = null)
    {
        options ??= new CompletenessOptions();
        CheckGraph(runs, circuit);
        var components = circuit.Components;
        var rng = new Random(options.Seed);
        var probes = new List<CompletenessProbe>();
        var seen = new Dictionary<string, CompletenessProbe>(StringComparer.Ordinal);
        CompletenessProbe Probe(IEnumerable<int> set, string source)
        {
            var k = set.Distinct().Order().ToArray();
            string key = string.Join(',', k);
            if (seen.TryGetValue(key, out var known)) return known;
            var removed = k.Select(i => components[i]).ToList();
            var knocked = KnockedOut(circuit, removed);
            double inCircuit = EdgePatching.MetricWithPatchedEdges(runs, e => !circuit.Contains(e) || knocked(e)).Average();
            double inModel = EdgePatching.MetricWithPatchedEdges(runs, knocked).Average();
            progress?.Report(2);
            var p = new CompletenessProbe(removed, source, inCircuit, inModel, Math.Abs(inCircuit - inModel));
            seen[key] = p;
            probes.Add(p);
            return p;
        }
        Probe([], "empty");
        for (int r = 0; r < options.RandomSets; r++)
            Probe(Enumerable.Range(0, components.Count).Where(_ => rng.NextDouble() < options.InclusionProbability).ToList(), "random");
        var current = new List<int>();
        for (int step = 0; step < options.GreedySteps && current.Count < components.Count; step++)
        {
            var candidates = Enumerable.Range(0, components.Count).Except(current).ToList();
            if (options.GreedyCandidates is int m && m < candidates.Count)
                candidates = candidates.OrderBy(_ => rng.Next()).Take(m).Order().ToList();
            CompletenessProbe? best = null;
            int bestIndex = -1;
            foreach (int c in candidates)
            {
                var p = Probe(current.Append(c), "greedy");
                if (best == null || p.Incompleteness > best.Incompleteness)
                {
                    best = p;
                    bestIndex = c;
                }
            }
            current.Add(bestIndex);
        }
        var conventions = EvaluationConventions.For(runs.Task, circuit.Level, "complement+K / K");
        return new CompletenessResult(probes, Math.Abs(runs.CleanMetric - runs.CorruptedMetric), options, conventions);
    }

    /// <summary>The edges that knocking these components out patches: the edges themselves, or every edge touching a removed node.</summary>
    internal static Func<GraphEdge, bool> KnockedOut(Circuit circuit, IReadOnlyCollection<string> components)
    {
        var graph = circuit.Graph;
        if (circuit.Level == CircuitLevel.Edge)
        {
            var edges = new bool[graph.Edges.Count];
            foreach (var name in components) edges[graph.Edge(name).Index] = true;
            return e => edges[e.Index];
        }
        var nodes = new bool[graph.Nodes.Count];
        foreach (var name in components) nodes[graph.Node(name).ForwardIndex] = true;
        return e => nodes[e.Parent.ForwardIndex] || nodes[e.Child.Node.ForwardIndex];
    }
}
