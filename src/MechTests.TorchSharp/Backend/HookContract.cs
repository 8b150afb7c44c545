using MechTests.Hooks;
using MechTests.Models;

namespace MechTests.TorchSharp.Backend;

/// <summary>
/// What a TorchSharp model must expose to be measured, checked by running it once on a short prompt:
/// <list type="bullet">
/// <item><b>Node level</b> (node patching, AtP, AtP*, head/MLP/neuron attribution, circuits over nodes):
/// <c>hook_embed</c>, <c>hook_logits</c> and in every block <c>hook_resid_pre</c>, <c>attn.hook_q/k/v</c>
/// (+ <c>hook_rot_q/k</c> with rotary), <c>attn.hook_pattern</c>, <c>attn.hook_z</c>, <c>attn.hook_result</c>,
/// <c>hook_mlp_in</c>, <c>mlp.hook_post</c>, <c>hook_mlp_out</c>, <c>hook_resid_post</c>.</item>
/// <item><b>Edge level</b> (edge patching, EAP, EAP-IG, edge circuits): also <c>hook_q_input</c>/<c>hook_k_input</c>/
/// <c>hook_v_input</c> [b,p,H,d], each head reading its own copy when <see cref="Modules.HookedTransformer.SplitQkvInput"/> is set.</item>
/// </list>
/// Shapes are those of <c>docs/hook-points.md</c> for the model's <see cref="ModelConfig"/>.
/// </summary>
/// <example><code>
/// HookContract.Check(new TorchSharpBackend(myModel), HookContract.Level.Edge);   // throws naming what to add
/// </code></example>
public static class HookContract
{
    /// <summary>Which measurements the model must support.</summary>
    public enum Level
    {
        /// <summary>Node-level measurement.</summary>
        Node,
        /// <summary>Edge-level measurement (split q/k/v inputs too).</summary>
        Edge,
    }

    internal const string SplitAdvice =
        "Override SupportsSplitQkvInput => true and, when SplitQkvInput is set, expand resid_pre to [b,p,H,d] three times, pass each " +
        "through a HookPoint (HookNames.QInput/KInput/VInput) and feed head h's q/k/v projection from its own slice (see docs/hook-points.md).";

    /// <summary>The hook points and shapes a model must have at <paramref name="level"/>, for a batch of b prompts of p tokens.</summary>
    public static IReadOnlyList<(string Name, int[] Shape)> Required(ModelConfig c, Level level, int b, int p)
    {
        int d = c.DModel, h = c.NHeads, kv = c.NKvHeads, dh = c.DHead;
        var list = new List<(string, int[])> { (HookNames.Embed, new[] { b, p, d }) };
        for (int l = 0; l < c.NLayers; l++)
        {
            list.Add((HookNames.ResidPre(l), new[] { b, p, d }));
            if (level == Level.Edge)
            {
                list.Add((HookNames.QInput(l), new[] { b, p, h, d }));
                list.Add((HookNames.KInput(l), new[] { b, p, h, d }));
                list.Add((HookNames.VInput(l), new[] { b, p, h, d }));
            }
            list.Add((HookNames.Q(l), new[] { b, p, h, dh }));
            list.Add((HookNames.K(l), new[] { b, p, kv, dh }));
            list.Add((HookNames.V(l), new[] { b, p, kv, dh }));
            if (c.Rotary != RotaryStyle.None)
            {
                list.Add((HookNames.RotQ(l), new[] { b, p, h, dh }));
                list.Add((HookNames.RotK(l), new[] { b, p, kv, dh }));
            }
            list.Add((HookNames.Pattern(l), new[] { b, h, p, p }));
            list.Add((HookNames.Z(l), new[] { b, p, h, dh }));
            list.Add((HookNames.Result(l), new[] { b, p, h, d }));
            list.Add((HookNames.MlpIn(l), new[] { b, p, d }));
            list.Add((HookNames.MlpPost(l), new[] { b, p, c.DMlp }));
            list.Add((HookNames.MlpOut(l), new[] { b, p, d }));
            list.Add((HookNames.ResidPost(l), new[] { b, p, d }));
        }
        list.Add((HookNames.Logits, new[] { b, p, c.VocabSize }));
        return list;
    }

    /// <summary>
    /// Runs the model once (one prompt of up to 3 tokens) and throws <see cref="HookContractException"/> naming every
    /// missing hook point, or the first with a wrong shape, and what to add.
    /// </summary>
    public static void Check(TorchSharpBackend backend, Level level)
    {
        var c = backend.Config;
        int p = Math.Min(3, c.MaxPositions);
        if (level == Level.Edge && !backend.Model.SupportsSplitQkvInput)
            throw new HookContractException($"{backend.Model.GetType().Name} cannot be measured at edge level: it does not support split q/k/v inputs. " + SplitAdvice);
        var tokens = new[] { new int[p] };
        using var pass = backend.Run(tokens, new RunOptions
        {
            // Caching a q/k/v input asks for split inputs, which only the edge level needs.
            Cache = level == Level.Edge ? HookFilter.All : HookFilter.Where(n => !n.EndsWith("_input", StringComparison.Ordinal)),
            SplitQkvInput = level == Level.Edge,
        }, out var reached);
        var required = Required(c, level, 1, p);
        var missing = required.Where(r => !reached.Contains(r.Name)).Select(r => r.Name).ToList();
        string model = backend.Model.GetType().Name;
        if (missing.Count > 0)
            throw new HookContractException(
                $"{model} is missing {missing.Count} hook point(s) that {level.ToString().ToLowerInvariant()}-level measurement needs: " +
                string.Join(", ", missing.Take(8)) + (missing.Count > 8 ? $", … ({missing.Count - 8} more)" : "") + ". " +
                $"Add a HookPoint with each name (e.g. new HookPoint(\"{missing[0]}\")) and pass the activation through it in forward(); " +
                "names and shapes are listed in docs/hook-points.md.");
        foreach (var (name, shape) in required)
        {
            var got = pass.Cache[name].Shape;
            if (!got.AsSpan().SequenceEqual(shape))
                throw new HookContractException(
                    $"{model}: hook point '{name}' carries shape [{string.Join(", ", got)}] but MechTests expects [{string.Join(", ", shape)}] " +
                    $"for a prompt of {p} tokens (b = 1, p = {p}; see docs/hook-points.md for what each dimension is).");
        }
    }
}

/// <summary>A TorchSharp model does not meet the hook-point contract; the message names what is missing and what to add.</summary>
public sealed class HookContractException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HookContractException(string message) : base(message) { }
}
