using MechTests.Tensors;

namespace MechTests.Hooks;

/// <summary>What an intervention sees when its hook point is reached.</summary>
public sealed class HookContext
{
    /// <summary>Creates a context (for backends that run interventions).</summary>
    /// <example><code>
    /// intervention.Apply(activation, new HookContext(HookNames.Result(1), 1, cacheSoFar));
    /// </code></example>
    public HookContext(string hookName, int layer, ActivationCache current)
    {
        HookName = hookName;
        Layer = layer;
        Current = current;
    }

    /// <summary>The hook point's name.</summary>
    public string HookName { get; }

    /// <summary>The block index, or −1 for hook points outside blocks.</summary>
    public int Layer { get; }

    /// <summary>Activations of this same pass cached so far (those selected by <see cref="RunOptions.Cache"/>).</summary>
    public ActivationCache Current { get; }
}

/// <summary>
/// A function that may change an activation in place. The tensor has the hook point's documented shape. It is the
/// engine's working buffer, reused by later passes: copy it to keep it (or cache the hook point).
/// </summary>
public delegate void HookFunction(Tensor activation, HookContext context);

/// <summary>
/// A change made to an activation during a forward pass. For gradients the change is treated as adding a constant
/// (straight-through): gradients at and above a hook point are those of the value after the intervention.
/// </summary>
/// <example><code>
/// // Patch head 2 of layer 1 at every position with its value from another run.
/// var patch = Intervention.Replace(HookNames.Result(1), corruptedCache[HookNames.Result(1)], heads: new[] { 2 });
/// var pass = engine.Run(tokens, new RunOptions { Interventions = { patch } });
/// </code></example>
public sealed class Intervention
{
    /// <summary>Creates an intervention running <paramref name="apply"/> at <paramref name="hookName"/>.</summary>
    public Intervention(string hookName, HookFunction apply) : this(hookName, apply, InterventionKind.Custom, null, null, null) { }

    private Intervention(string hookName, HookFunction apply, InterventionKind kind, Tensor? operand, IReadOnlyCollection<int>? positions, IReadOnlyCollection<int>? heads)
    {
        HookName = hookName;
        Apply = apply;
        Kind = kind;
        Operand = operand;
        Positions = positions;
        Heads = heads;
    }

    /// <summary>
    /// What the change is, so a device backend can apply Replace/Add/Zero on the device; <see cref="InterventionKind.Custom"/>
    /// runs <see cref="Apply"/> on a host copy.
    /// </summary>
    public InterventionKind Kind { get; }

    /// <summary>The replacement (Replace) or the addend (Add); null for Zero and Custom.</summary>
    public Tensor? Operand { get; }

    /// <summary>The positions changed (null: all); see <see cref="Replace"/> for which dimension they index.</summary>
    public IReadOnlyCollection<int>? Positions { get; }

    /// <summary>The heads changed (null: all); see <see cref="Replace"/> for which dimension they index.</summary>
    public IReadOnlyCollection<int>? Heads { get; }

    /// <summary>The hook point.</summary>
    public string HookName { get; }

    /// <summary>The change.</summary>
    public HookFunction Apply { get; }

    /// <summary>
    /// Replaces the activation with <paramref name="source"/> (same shape), optionally only at some positions and/or heads.
    /// Positions index dimension 1 of [b,p,…] tensors; heads index dimension 2 of [b,p,H,…] tensors, or dimension 1
    /// of attention [b,H,p,p] tensors (where positions then index the query dimension).
    /// </summary>
    public static Intervention Replace(string hookName, Tensor source, IReadOnlyCollection<int>? positions = null, IReadOnlyCollection<int>? heads = null)
        => new(hookName, (t, _) => Blend(hookName, t, source, positions, heads, add: false), InterventionKind.Replace, source, positions, heads);

    /// <summary>Adds <paramref name="delta"/> (same shape) to the activation, optionally only at some positions/heads.</summary>
    public static Intervention Add(string hookName, Tensor delta, IReadOnlyCollection<int>? positions = null, IReadOnlyCollection<int>? heads = null)
        => new(hookName, (t, _) => Blend(hookName, t, delta, positions, heads, add: true), InterventionKind.Add, delta, positions, heads);

    /// <summary>Sets the activation to zero (zero ablation), optionally only at some positions/heads.</summary>
    public static Intervention Zero(string hookName, IReadOnlyCollection<int>? positions = null, IReadOnlyCollection<int>? heads = null)
        => new(hookName, (t, _) => Blend(hookName, t, new Tensor(t.Shape), positions, heads, add: false), InterventionKind.Zero, null, positions, heads);

    private static void Blend(string hookName, Tensor target, Tensor source, IReadOnlyCollection<int>? positions, IReadOnlyCollection<int>? heads, bool add)
    {
        if (!target.SameShape(source))
            throw new ArgumentException($"Intervention tensor has shape {source.ShapeText} but the hook point's activation has shape {target.ShapeText}.");
        bool attention = IsAttentionHook(hookName);
        int b = target.Shape[0];
        int d1 = target.Rank > 1 ? target.Shape[1] : 1;
        int d2 = target.Rank > 2 ? target.Shape[2] : 1;
        int inner = target.Rank > 3 ? target.Length / (b * d1 * d2) : 1;
        var dst = target.Data;
        var src = source.Data;
        for (int i = 0; i < b; i++)
        for (int j = 0; j < d1; j++)
        for (int k = 0; k < d2; k++)
        {
            // [b,p,H,…] → positions on j, heads on k; [b,H,p,p] → heads on j, query positions on k.
            int pos = attention ? k : j;
            int head = attention ? j : k;
            if (positions != null && !positions.Contains(pos)) continue;
            if (heads != null && !heads.Contains(head)) continue;
            int off = ((i * d1 + j) * d2 + k) * inner;
            if (add)
                System.Numerics.Tensors.TensorPrimitives.Add(dst.AsSpan(off, inner), src.AsSpan(off, inner), dst.AsSpan(off, inner));
            else
                Array.Copy(src, off, dst, off, inner);
        }
    }

    // Attention scores and patterns are [b,H,p,p]: heads come before positions.
    /// <summary>
    /// Whether the hook point is an attention score/pattern tensor [b,H,p,p], where heads index dimension 1 and
    /// positions the query dimension 2.
    /// </summary>
    public static bool IsAttentionHook(string hookName) =>
        hookName.EndsWith("hook_attn_scores", StringComparison.Ordinal) || hookName.EndsWith("hook_pattern", StringComparison.Ordinal);
}

/// <summary>The kind of an <see cref="Intervention"/>.</summary>
public enum InterventionKind
{
    /// <summary>A user function over the activation.</summary>
    Custom,
    /// <summary>Replace (some positions/heads of) the activation with <see cref="Intervention.Operand"/>.</summary>
    Replace,
    /// <summary>Add <see cref="Intervention.Operand"/> to (some positions/heads of) the activation.</summary>
    Add,
    /// <summary>Set (some positions/heads of) the activation to zero.</summary>
    Zero,
}
