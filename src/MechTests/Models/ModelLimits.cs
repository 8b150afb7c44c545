namespace MechTests.Models;

/// <summary>
/// The largest shapes MechTests accepts from outside input (config.json, llama2.c headers, circuit and MIB graph files),
/// checked before anything is allocated, so a file stating an impossible size fails with a message naming the field
/// instead of running out of memory. The bounds sit well above every published decoder (Llama-3.1-405B: 126 layers ×
/// 128 heads, d_model 16384, d_mlp 53248, vocabulary 128256) and below what .NET arrays and the int-indexed graph can
/// hold. docs/reliability.md lists them.
/// </summary>
/// <example><code>
/// string? why = ModelLimits.GraphProblem(80, 64, parallel: false); // null: a Llama-2-70B-shaped graph is fine
/// long edges = ModelLimits.GraphEdgeCount(80, 64, parallel: false);
/// </code></example>
public static class ModelLimits
{
    /// <summary>Most transformer blocks.</summary>
    public const int MaxLayers = 1024;

    /// <summary>Most query heads per block (also key/value heads).</summary>
    public const int MaxHeads = 1024;

    /// <summary>Widest residual stream.</summary>
    public const int MaxDModel = 1 << 17;

    /// <summary>Widest head.</summary>
    public const int MaxDHead = 1 << 14;

    /// <summary>Widest MLP hidden layer.</summary>
    public const int MaxDMlp = 1 << 20;

    /// <summary>Largest vocabulary.</summary>
    public const int MaxVocab = 1 << 23;

    /// <summary>Longest context a config may state (rotary tables are built only for the positions a run uses).</summary>
    public const int MaxPositions = 1 << 30;

    /// <summary>Most edges of a residual-stream graph: edge indexes are <see cref="int"/>.</summary>
    public const long MaxGraphEdges = int.MaxValue;

    /// <summary>Most elements of one weight array (a .NET array's limit).</summary>
    public static long MaxTensorElements => Array.MaxLength;

    /// <summary>
    /// The number of edges of the residual-stream graph of this shape, computed in 64 bits without building it: per
    /// layer l with P = 1 + l(H+1) upstream nodes, 3H·P head-input edges plus P (+H unless parallel) MLP edges; then
    /// 1 + L(H+1) edges into the logits.
    /// </summary>
    public static long GraphEdgeCount(int layers, int heads, bool parallel)
    {
        long l = layers, h = heads, c = parallel ? 0 : h;
        // Σ_{j<L} (3H+1)(1 + j(H+1)) + c = (3H+1)(L + (H+1)L(L−1)/2) + cL
        return (3 * h + 1) * (l + (h + 1) * l * (l - 1) / 2) + c * l + 1 + l * (h + 1);
    }

    /// <summary>Why a graph of this shape cannot be built (a sentence), or null when it can.</summary>
    public static string? GraphProblem(int layers, int heads, bool parallel)
    {
        if (layers is < 1 or > MaxLayers) return $"{layers} layers is outside the supported 1..{MaxLayers}";
        if (heads is < 1 or > MaxHeads) return $"{heads} heads is outside the supported 1..{MaxHeads}";
        long edges = GraphEdgeCount(layers, heads, parallel);
        return edges > MaxGraphEdges
            ? $"a {layers}-layer, {heads}-head model has {edges} graph edges, more than the supported {MaxGraphEdges}"
            : null;
    }

    /// <summary>Why <paramref name="value"/> is outside 1..<paramref name="max"/> (a phrase to follow a field name), or null.</summary>
    public static string? RangeProblem(long value, long max)
        => value < 1 ? $"must be positive (got {value})" : value > max ? $"must be at most {max} (got {value})" : null;
}
