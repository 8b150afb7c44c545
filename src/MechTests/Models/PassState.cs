using MechTests.Hooks;
using MechTests.Tensors;

namespace MechTests.Models;

/// <summary>Applies interventions and caching at hook points during one forward pass.</summary>
internal sealed class PassHooks
{
    private readonly RunOptions _options;
    private readonly ScratchPool _pool;
    private readonly Dictionary<string, List<Intervention>> _interventions = new(StringComparer.Ordinal);
    private readonly List<float[]> _cached = new();

    public PassHooks(RunOptions options, ScratchPool pool)
    {
        _options = options;
        _pool = pool;
        foreach (var iv in options.Interventions)
        {
            if (!_interventions.TryGetValue(iv.HookName, out var list))
                _interventions[iv.HookName] = list = new List<Intervention>();
            list.Add(iv);
        }
    }

    public ActivationCache Cache { get; } = new("activations");

    /// <summary>The cached copies' buffers (rented from the pool; they go back when the pass is disposed).</summary>
    public IReadOnlyList<float[]> CachedBuffers => _cached;

    public IEnumerable<string> InterventionHooks => _interventions.Keys;

    /// <summary>Whether anything happens at this hook point (so the engine must materialise it).</summary>
    public bool Active(string name) => _interventions.ContainsKey(name) || _options.Cache.Matches(name);

    public bool Intervenes(string name) => _interventions.ContainsKey(name);

    /// <summary>Runs interventions on <paramref name="data"/> in place, then caches a copy if selected.</summary>
    public void At(string name, int layer, float[] data, params int[] shape)
    {
        if (_interventions.TryGetValue(name, out var list))
        {
            var t = new Tensor(data, shape);
            var ctx = new HookContext(name, layer, Cache);
            foreach (var iv in list) iv.Apply(t, ctx);
        }
        if (_options.Cache.Matches(name))
        {
            var copy = _pool.RentCopy(data);
            _cached.Add(copy);
            Cache.Set(name, new Tensor(copy, shape));
        }
    }
}

/// <summary>What one block's backward pass needs from its forward pass.</summary>
internal sealed class LayerTape
{
    public required float[] ResidPre;      // [N,d] block input (post-intervention)
    public float[]? Mean1, Rstd1;          // fused ln1 stats [N]
    public float[]? Ln1;                   // fused ln1 output [N,d]
    public bool Split;                     // q/k/v inputs computed per head
    public float[]? QIn, KIn, VIn;         // split inputs [N,H,d]
    public float[]? SplitMean, SplitRstd;  // split ln1 stats [3][H][N]
    public required float[] QRot;          // [N,H·dh] queries after rotary
    public required float[] KRot;          // [N,H·dh] keys after rotary, one per query head
    public required float[] V;             // [N,H·dh] values, one per query head
    public required float[] Pattern;       // [B,H,T,T]
    public required float[] Z;             // [N,H·dh]
    public required float[] MlpIn;         // [N,d]
    public required float[] Mean2, Rstd2;  // [N]
    public required float[] Ln2;           // [N,d]
    public required float[] Pre;           // [N,m]
    public float[]? Lin;                   // [N,m] gated only
    public required float[] Post;          // [N,m]

    public float[]?[] Buffers() => new[] { ResidPre, Ln1, QIn, KIn, VIn, QRot, KRot, V, Pattern, Z, MlpIn, Ln2, Pre, Lin, Post };
}

/// <summary>Everything the backward pass needs.</summary>
internal sealed class Tape
{
    public required int[][] Tokens;
    public required LayerTape[] Layers;
    public required float[] ResidFinal, MeanF, RstdF, LnF;

    public float[]?[] Buffers() => Layers.Where(l => l != null).SelectMany(l => l.Buffers()).Append(ResidFinal).Append(LnF).ToArray();
}
