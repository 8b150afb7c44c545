using MechTests.Models;
using MechTests.Tasks;

namespace MechTests.GroundTruth;

public static partial class GroundTruthModels
{
    // Saturated-attention model residual layout (d_model 32): bias | identity (5 contents) | MARK | UNMARK | QRY | OUT | DIST | position one-hot.
    // UNMARK gives unmarked tokens the same norm as marked ones, so moving a mark changes no RMS.
    private const int SContents = 5, SPositions = 4;
    private const int SIdent = 1, SMark = SIdent + SContents, SUnmark = SMark + 1, SQry = SUnmark + 1, SOut = SQry + 1, SDist = SOut + SContents, SPos = SDist + 1;

    /// <summary>Token id of the query token of the saturated-attention task (BOS is 0).</summary>
    internal const int SaturationQueryToken = 1;

    /// <summary>Attention logit of the selector head on a marked key: saturated (the other keys get e^−20 ≈ 2e−9).</summary>
    internal const float SaturationLogit = 20f;

    /// <summary>Logit of an answer token per unit of its output direction.</summary>
    internal const float SaturationUnembedScale = 5f;

    /// <summary>Token id of content <paramref name="i"/> (0–4), unmarked or marked; the unmarked id is also the answer token.</summary>
    /// <example><code>
    /// int bMarked = GroundTruthModels.SaturationToken(2, marked: true);   // 7; the answer token for it is SaturationToken(2, false) = 6
    /// </code></example>
    public static int SaturationToken(int i, bool marked) => 2 + 2 * i + (marked ? 1 : 0);

    /// <summary>
    /// A 2-layer model (Llama family; 2 heads of 8 dims per layer, d_model 32, vocabulary 12) whose selector head
    /// <c>a1.h0</c> attends, from the query token Q, to the one marked token with logit 20 — saturated — and copies its
    /// identity to the logits (×5). Prompts <c>[BOS, B*, C, Q]</c> (B marked) → B; corrupted <c>[BOS, B, C*, Q]</c> → C.
    /// The identities are unchanged, only the marks move, so the difference flows through the key alone
    /// (circuit <c>input-&gt;a1.h0&lt;k&gt;, a1.h0-&gt;logits</c>). At the clean input ∂L/∂key ∝ A(1 − A) ≈ 4e−9, so
    /// AtP scores the key node <c>a1.h0.k</c> ≈ 0 while patching it flips the attention (effect ≈ −2·5 = −10); the QK fix
    /// recomputes the softmax exactly and recovers ≈ −10. Distractors a0.h0, a1.h1 (W_O = 0; a1.h1 has the selector's
    /// QK circuit), a0.h1 (constant value into DIST) and the zeroed MLPs are irrelevant.
    /// </summary>
    /// <example><code>
    /// var m = GroundTruthModels.SaturatedAttention();   // m.FocusNode == "a1.h0.k"
    /// var key = NodeSets.Build(m.Config, NodeGranularity.QueryKeyValue).Single(n => n.Name == m.FocusNode);
    /// </code></example>
    public static PlantedModel SaturatedAttention(int pairs = 6, int seed = 3)
    {
        if (pairs < 1) throw new ArgumentOutOfRangeException(nameof(pairs), $"pairs must be ≥ 1 (got {pairs}).");
        var config = new ModelConfig
        {
            Architecture = Architecture.Llama, DModel = 32, NLayers = 2, NHeads = 2, NKvHeads = 2, DHead = 8, DMlp = 4,
            VocabSize = 2 + 2 * SContents, MaxPositions = SPositions, Norm = NormKind.RmsNorm, NormEps = 1e-5f,
            Activation = ActivationKind.Silu, GatedMlp = true, Rotary = RotaryStyle.None, LearnedPositions = true, BosTokenId = 0,
        };
        config.Validate("saturated-attention ground-truth model");
        var w = new PlantedWeights(config);
        w.Embed(SaturationQueryToken, SQry, 1f);
        for (int i = 0; i < SContents; i++)
        {
            w.Embed(SaturationToken(i, false), SIdent + i, 1f);
            w.Embed(SaturationToken(i, false), SUnmark, 1f);
            w.Embed(SaturationToken(i, true), SIdent + i, 1f);
            w.Embed(SaturationToken(i, true), SMark, 1f);
            w.Unembed(SaturationToken(i, false), SOut + i, SaturationUnembedScale);
        }
        for (int p = 0; p < SPositions; p++) w.Pos(p, SPos + p, 1f);

        // a1.h0, selector: query QRY, key MARK, logit 20 on the marked token; value identity → OUT.
        float g = w.QkWeight(SaturationLogit);
        w.Q(1, 0, SQry, 0, g);
        w.K(1, 0, SMark, 0, g);
        for (int i = 0; i < SContents; i++)
        {
            w.V(1, 0, SIdent + i, i, 1f);
            w.O(1, 0, i, SOut + i, 1f);
        }

        // Distractors: a1.h1 has the selector's QK and OV reads but W_O = 0; a0.h0 attends by identity, W_O = 0;
        // a0.h1's pattern depends on marks and positions, its value only on the bias coordinate, written into DIST.
        w.Q(1, 1, SQry, 0, g);
        w.K(1, 1, SMark, 0, g);
        float gd = w.QkWeight(1f);
        for (int i = 0; i < SContents; i++)
        {
            w.V(1, 1, SIdent + i, i, 1f);
            w.Q(0, 0, SIdent + i, i, gd);
            w.K(0, 0, SIdent + i, i, gd);
            w.V(0, 0, SIdent + i, i, 1f);
        }
        w.Q(0, 1, SMark, 0, gd);
        for (int p = 0; p < SPositions; p++) w.K(0, 1, SPos + p, 0, gd * p / SPositions);
        w.K(0, 1, SMark, 1, gd);
        w.Q(0, 1, SQry, 1, gd);
        w.V(0, 1, PlantedWeights.BiasDim, 0, 1f);
        w.O(0, 1, 0, SDist, 1f);

        var rng = new Random(seed);
        var list = new List<PromptPair>();
        for (int k = 0; k < pairs; k++)
        {
            var two = Enumerable.Range(0, SContents).OrderBy(_ => rng.Next()).Take(2).ToArray();
            int b = two[0], c = two[1];
            list.Add(new PromptPair(k,
                new[] { 0, SaturationToken(b, true), SaturationToken(c, false), SaturationQueryToken },
                new[] { 0, SaturationToken(b, false), SaturationToken(c, true), SaturationQueryToken },
                new[] { SaturationToken(b, false) }, new[] { SaturationToken(c, false) }));
        }
        var task = new MechTask("saturated-attention", MetricKind.LogitDiff, list);
        var circuit = new HashSet<string>(StringComparer.Ordinal) { "input->a1.h0<k>", "a1.h0->logits" };
        return new PlantedModel("saturated-attention", config, w.Build(), task, circuit, PlantedModel.NodesOf(circuit),
            "a1.h0 attends from Q to the marked token with logit 20 (attention ≈ 1 − 4e−9) and copies its identity (×5). The corruption " +
            "moves the mark from B to C: only the key changes, its gradient is ≈ 0 by saturation, but patching it flips the attention.")
        {
            MechanismEdges = new HashSet<string>(StringComparer.Ordinal) { "input->a1.h0<q>", "input->a1.h0<k>", "input->a1.h0<v>", "a1.h0->logits" },
            DistractorNodes = new HashSet<string>(StringComparer.Ordinal) { "a0.h0", "a0.h1", "a1.h1", "m0", "m1" },
            FocusNode = "a1.h0.k",
        };
    }
}
