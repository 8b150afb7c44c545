using MechTests.Attribution;
using MechTests.Graphs;
using MechTests.Patching;

namespace MechTests.FluentAssertions;

/// <summary>
/// The components an attribution scored, resolved against a model so they can be patched exactly: graph edges for
/// edge-level attributions, activation nodes (components, q/k/v, neurons, optionally per position) otherwise.
/// </summary>
internal sealed class ScoredComponents
{
    private readonly IReadOnlyList<GraphEdge>? _edges;
    private readonly IReadOnlyList<ActivationNode>? _nodes;

    private ScoredComponents(IReadOnlyList<string> names, IReadOnlyList<GraphEdge>? edges, IReadOnlyList<ActivationNode>? nodes)
    {
        Names = names;
        _edges = edges;
        _nodes = nodes;
    }

    /// <summary>Names in the attribution's order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether these are edges.</summary>
    public bool AreEdges => _edges != null;

    public static ScoredComponents Of(TaskRuns runs, AttributionResult attribution)
    {
        var names = attribution.Names;
        if (attribution.Level == "edge")
        {
            var unknown = names.Where(n => !runs.Graph.TryEdge(n, out _)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"The attribution scores edges the model's graph does not have ({runs.Graph.Layers} layers, {runs.Graph.Heads} heads): {string.Join(", ", unknown.Take(5))}{(unknown.Count > 5 ? ", …" : "")}.", nameof(attribution));
            return new ScoredComponents(names, names.Select(runs.Graph.Edge).ToList(), null);
        }
        bool perPosition = attribution.Level.EndsWith("@position", StringComparison.Ordinal);
        string kind = perPosition ? attribution.Level[..^"@position".Length] : attribution.Level;
        var granularity = kind switch
        {
            "node" => NodeGranularity.Component,
            "qkv" => NodeGranularity.QueryKeyValue,
            "neuron" => NodeGranularity.Neuron,
            _ => throw new ArgumentException($"Attribution level '{attribution.Level}' is not one this package can patch (edge, node, qkv, neuron, with or without @position).", nameof(attribution)),
        };
        int? positions = perPosition ? names.Max(PositionOf) + 1 : null;
        var byName = NodeSets.Build(runs.Model.Config, granularity, positions).ToDictionary(n => n.Name, StringComparer.Ordinal);
        var missing = names.Where(n => !byName.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"The attribution scores {kind} nodes this model does not have: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}.", nameof(attribution));
        return new ScoredComponents(names, null, names.Select(n => byName[n]).ToList());
    }

    /// <summary>Exact activation patching of the components at <paramref name="indices"/> (all when null), one at a time.</summary>
    public PatchingResult Patch(TaskRuns runs, IReadOnlyList<int>? indices = null)
    {
        if (_edges != null) return EdgePatching.RunEach(runs, indices == null ? _edges : indices.Select(i => _edges[i]).ToList());
        return NodePatching.Run(runs, indices == null ? _nodes! : indices.Select(i => _nodes![i]).ToList());
    }

    /// <summary>
    /// The subsampling estimate ĉ_SS(n) = mean[ΔL | n∈S] − mean[ΔL | n∉S] over random subsets S of the pool
    /// (docs/methods.md §5): <see cref="Subsampling.Estimate"/> for nodes; for edges the same estimator with each subset
    /// patched in one pass by <see cref="EdgePatching.MetricWithPatchedEdges"/>.
    /// </summary>
    public IReadOnlyDictionary<string, double> Subsample(TaskRuns runs, IReadOnlyList<int> pool, int samples, double p, int seed)
    {
        if (_nodes != null) return Subsampling.Estimate(runs, pool.Select(i => _nodes[i]).ToList(), samples, p, seed).Estimates;
        var edges = pool.Select(i => _edges![i]).ToList();
        var rng = new Random(seed);
        var inSum = new double[edges.Count];
        var outSum = new double[edges.Count];
        var inCount = new int[edges.Count];
        var outCount = new int[edges.Count];
        var chosen = new bool[runs.Graph.Edges.Count];
        for (int s = 0; s < samples; s++)
        {
            Array.Clear(chosen);
            var member = new bool[edges.Count];
            for (int i = 0; i < edges.Count; i++)
                if (rng.NextDouble() < p) chosen[edges[i].Index] = member[i] = true;
            double delta = EdgePatching.MetricWithPatchedEdges(runs, e => chosen[e.Index]).Average() - runs.CleanMetric;
            for (int i = 0; i < edges.Count; i++)
                if (member[i]) { inSum[i] += delta; inCount[i]++; }
                else { outSum[i] += delta; outCount[i]++; }
        }
        var estimates = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < edges.Count; i++)
            estimates[edges[i].Name] = (inCount[i] > 0 ? inSum[i] / inCount[i] : 0) - (outCount[i] > 0 ? outSum[i] / outCount[i] : 0);
        return estimates;
    }

    private static int PositionOf(string name)
    {
        int at = name.LastIndexOf('@');
        return at >= 0 && int.TryParse(name.AsSpan(at + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int p)
            ? p
            : throw new ArgumentException($"Per-position node name '{name}' has no '@position' suffix.");
    }
}
