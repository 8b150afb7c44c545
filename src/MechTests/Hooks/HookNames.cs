namespace MechTests.Hooks;

/// <summary>
/// The one naming scheme for every activation (TransformerLens-compatible). Shapes use b = batch, p = position,
/// d = d_model, H = query heads, Hkv = key/value heads, dh = d_head, m = d_mlp, V = vocabulary.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term><c>hook_embed</c></term><description>[b,p,d] token embedding</description></item>
/// <item><term><c>hook_pos_embed</c></term><description>[b,p,d] learned position embedding (GPT-2)</description></item>
/// <item><term><c>blocks.{l}.hook_resid_pre</c></term><description>[b,p,d] residual stream entering block l</description></item>
/// <item><term><c>blocks.{l}.hook_q_input</c> / <c>hook_k_input</c> / <c>hook_v_input</c></term><description>[b,p,H,d] the
/// residual stream as read by each query head's q/k/v port, before ln1 (split-input mode; grouped-query attention is
/// ungrouped, so every query head has its own k and v input)</description></item>
/// <item><term><c>blocks.{l}.ln1.hook_normalized</c></term><description>[b,p,d] ln1 output (weight and bias applied)</description></item>
/// <item><term><c>blocks.{l}.attn.hook_q</c></term><description>[b,p,H,dh] queries before rotary</description></item>
/// <item><term><c>blocks.{l}.attn.hook_k</c> / <c>hook_v</c></term><description>[b,p,Hkv,dh] keys (before rotary) / values</description></item>
/// <item><term><c>blocks.{l}.attn.hook_rot_q</c> / <c>hook_rot_k</c></term><description>[b,p,H,dh] / [b,p,Hkv,dh] after rotary</description></item>
/// <item><term><c>blocks.{l}.attn.hook_attn_scores</c></term><description>[b,H,p,p] scaled, causally masked (−∞) attention logits</description></item>
/// <item><term><c>blocks.{l}.attn.hook_pattern</c></term><description>[b,H,p,p] attention probabilities</description></item>
/// <item><term><c>blocks.{l}.attn.hook_z</c></term><description>[b,p,H,dh] pattern-weighted values</description></item>
/// <item><term><c>blocks.{l}.attn.hook_result</c></term><description>[b,p,H,d] each head's write z_h·W_O[h] (no b_O): the graph node a{l}.h{h}</description></item>
/// <item><term><c>blocks.{l}.hook_attn_out</c></term><description>[b,p,d] Σ_h result + b_O</description></item>
/// <item><term><c>blocks.{l}.hook_resid_mid</c></term><description>[b,p,d] resid_pre + attn_out (sequential blocks only)</description></item>
/// <item><term><c>blocks.{l}.hook_mlp_in</c></term><description>[b,p,d] the MLP's input before ln2 (resid_mid, or resid_pre when parallel)</description></item>
/// <item><term><c>blocks.{l}.ln2.hook_normalized</c></term><description>[b,p,d] ln2 output</description></item>
/// <item><term><c>blocks.{l}.mlp.hook_pre</c></term><description>[b,p,m] pre-activation (the gate's, for SwiGLU)</description></item>
/// <item><term><c>blocks.{l}.mlp.hook_pre_linear</c></term><description>[b,p,m] the linear (up) branch of a gated MLP</description></item>
/// <item><term><c>blocks.{l}.mlp.hook_post</c></term><description>[b,p,m] hidden activation fed to W_out (one node per neuron)</description></item>
/// <item><term><c>blocks.{l}.hook_mlp_out</c></term><description>[b,p,d] MLP write (incl. b_out): the graph node m{l}</description></item>
/// <item><term><c>blocks.{l}.hook_resid_post</c></term><description>[b,p,d] residual stream leaving block l</description></item>
/// <item><term><c>ln_final.hook_normalized</c></term><description>[b,p,d] final norm output</description></item>
/// <item><term><c>hook_logits</c></term><description>[b,p,V] logits</description></item>
/// </list>
/// </remarks>
/// <example><code>
/// string name = HookNames.Result(3);          // "blocks.3.attn.hook_result"
/// var cache = engine.Run(tokens, new RunOptions { Cache = HookFilter.Only(name) }).Cache;
/// </code></example>
public static class HookNames
{
    /// <summary><c>hook_embed</c></summary>
    public const string Embed = "hook_embed";
    /// <summary><c>hook_pos_embed</c></summary>
    public const string PosEmbed = "hook_pos_embed";
    /// <summary><c>ln_final.hook_normalized</c></summary>
    public const string LnFinal = "ln_final.hook_normalized";
    /// <summary><c>hook_logits</c></summary>
    public const string Logits = "hook_logits";

    /// <summary><c>blocks.{l}.hook_resid_pre</c></summary>
    public static string ResidPre(int l) => $"blocks.{l}.hook_resid_pre";
    /// <summary><c>blocks.{l}.hook_q_input</c></summary>
    public static string QInput(int l) => $"blocks.{l}.hook_q_input";
    /// <summary><c>blocks.{l}.hook_k_input</c></summary>
    public static string KInput(int l) => $"blocks.{l}.hook_k_input";
    /// <summary><c>blocks.{l}.hook_v_input</c></summary>
    public static string VInput(int l) => $"blocks.{l}.hook_v_input";
    /// <summary><c>blocks.{l}.ln1.hook_normalized</c></summary>
    public static string Ln1(int l) => $"blocks.{l}.ln1.hook_normalized";
    /// <summary><c>blocks.{l}.attn.hook_q</c></summary>
    public static string Q(int l) => $"blocks.{l}.attn.hook_q";
    /// <summary><c>blocks.{l}.attn.hook_k</c></summary>
    public static string K(int l) => $"blocks.{l}.attn.hook_k";
    /// <summary><c>blocks.{l}.attn.hook_v</c></summary>
    public static string V(int l) => $"blocks.{l}.attn.hook_v";
    /// <summary><c>blocks.{l}.attn.hook_rot_q</c></summary>
    public static string RotQ(int l) => $"blocks.{l}.attn.hook_rot_q";
    /// <summary><c>blocks.{l}.attn.hook_rot_k</c></summary>
    public static string RotK(int l) => $"blocks.{l}.attn.hook_rot_k";
    /// <summary><c>blocks.{l}.attn.hook_attn_scores</c></summary>
    public static string AttnScores(int l) => $"blocks.{l}.attn.hook_attn_scores";
    /// <summary><c>blocks.{l}.attn.hook_pattern</c></summary>
    public static string Pattern(int l) => $"blocks.{l}.attn.hook_pattern";
    /// <summary><c>blocks.{l}.attn.hook_z</c></summary>
    public static string Z(int l) => $"blocks.{l}.attn.hook_z";
    /// <summary><c>blocks.{l}.attn.hook_result</c></summary>
    public static string Result(int l) => $"blocks.{l}.attn.hook_result";
    /// <summary><c>blocks.{l}.hook_attn_out</c></summary>
    public static string AttnOut(int l) => $"blocks.{l}.hook_attn_out";
    /// <summary><c>blocks.{l}.hook_resid_mid</c></summary>
    public static string ResidMid(int l) => $"blocks.{l}.hook_resid_mid";
    /// <summary><c>blocks.{l}.hook_mlp_in</c></summary>
    public static string MlpIn(int l) => $"blocks.{l}.hook_mlp_in";
    /// <summary><c>blocks.{l}.ln2.hook_normalized</c></summary>
    public static string Ln2(int l) => $"blocks.{l}.ln2.hook_normalized";
    /// <summary><c>blocks.{l}.mlp.hook_pre</c></summary>
    public static string MlpPre(int l) => $"blocks.{l}.mlp.hook_pre";
    /// <summary><c>blocks.{l}.mlp.hook_pre_linear</c></summary>
    public static string MlpPreLinear(int l) => $"blocks.{l}.mlp.hook_pre_linear";
    /// <summary><c>blocks.{l}.mlp.hook_post</c></summary>
    public static string MlpPost(int l) => $"blocks.{l}.mlp.hook_post";
    /// <summary><c>blocks.{l}.hook_mlp_out</c></summary>
    public static string MlpOut(int l) => $"blocks.{l}.hook_mlp_out";
    /// <summary><c>blocks.{l}.hook_resid_post</c></summary>
    public static string ResidPost(int l) => $"blocks.{l}.hook_resid_post";

    /// <summary>
    /// The block a hook point belongs to: l for <c>blocks.{l}.…</c>, −1 for the embeddings, int.MaxValue for the
    /// final norm and the logits (above every block).
    /// </summary>
    /// <example><code>
    /// HookNames.BlockOf("blocks.3.attn.hook_z");   // 3
    /// HookNames.BlockOf(HookNames.Embed);          // -1
    /// </code></example>
    public static int BlockOf(string name)
    {
        if (name.StartsWith("blocks.", StringComparison.Ordinal))
        {
            int dot = name.IndexOf('.', 7);
            if (dot > 7 && int.TryParse(name.AsSpan(7, dot - 7), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int l))
                return l;
        }
        return name is Embed or PosEmbed ? -1 : int.MaxValue;
    }
}
