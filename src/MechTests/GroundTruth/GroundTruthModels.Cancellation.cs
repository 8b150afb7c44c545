using MechTests.Models;
using MechTests.Tasks;

namespace MechTests.GroundTruth;

public static partial class GroundTruthModels
{
    // Cancellation model residual layout (d_model 32): bias | token one-hot | position one-hot | S (u's write) | LOGIT (m1's write) | DIST.
    private const int CVocab = 12, CPositions = 4;
    private const int CTok = 1, CPos = CTok + CVocab, CS = CPos + CPositions, CLogit = CS + 1, CDist = CLogit + 1;

    /// <summary>Token ids of the cancellation task: BOS 0, answers Yes 1 / No 2, filler 3, positive 4–7, negative 8–11.</summary>
    internal const int CancellationYes = 1, CancellationNo = 2, CancellationFiller = 3;

    /// <summary>u's write S for a positive token (clean) is +<see cref="CancellationPositive"/>, for a negative token (corrupted) −<see cref="CancellationNegative"/>.</summary>
    internal const float CancellationPositive = 3f, CancellationNegative = 3f;

    /// <summary>Direct effect: logit(Yes) − logit(No) per unit of S.</summary>
    internal const float CancellationDirect = 2f;

    /// <summary>Gain β of the m1 neuron's gate on S − S_clean.</summary>
    internal const float CancellationGain = 2f;

    /// <summary>
    /// A 2-layer model (Llama family, SwiGLU MLPs; 2 heads of 8 dims per layer, d_model 32) in which the head
    /// u = <c>a0.h1</c> has a direct effect on the logit difference and an indirect one through the MLP <c>m1</c> that
    /// cancel exactly in the gradient at the clean input, while only the direct one survives the clean → corrupted change.
    /// <list type="bullet">
    /// <item>Prompts <c>[BOS, filler, X]</c>, answer Yes vs No. u attends to its own position (logit 30) and writes
    /// S = f(X): +3 for the positive tokens 4–7 (clean), −3 for the negative tokens 8–11 (corrupted).</item>
    /// <item>Direct path: the unembedding gives logit(Yes) − logit(No) = 2·S.</item>
    /// <item>Indirect path: m1's neuron 0 computes silu(β(S − 3))·1 (gate reads S and the constant bias coordinate, the
    /// linear branch reads the bias coordinate) and writes γ = −2·2/β = −2 times it into LOGIT (logit difference ×1).
    /// At the clean input silu'(0) = ½, so its gradient −2·β·½ = −2 cancels the direct +2: AtP(u) = 0. For the
    /// corrupted S = −3 the gate is at β·(−6) = −12 where silu ≈ −7e−5: the indirect path barely moves.</item>
    /// </list>
    /// So patching u moves the logit difference by ≈ −12 (clean +6, corrupted ≈ −6), AtP(u) ≈ 0, and GradDrop — which
    /// with 2 layers keeps only the direct path for a layer-0 node — scores u ≈ 12. The circuit is
    /// <c>input-&gt;a0.h1&lt;v&gt;, a0.h1-&gt;logits</c>: the edge <c>a0.h1-&gt;m1</c> carries the difference but its effect
    /// saturates to ≈ 0 (γ·silu(−12) ≈ 1.5e−4, which is why this circuit's faithfulness is 1 + 1.2e−5 rather than 1),
    /// so it is in <see cref="PlantedModel.MechanismEdges"/> only. Distractors a0.h0, a1.h1 (W_O = 0),
    /// a1.h0 (constant value into DIST) and the zeroed m0 are irrelevant.
    /// </summary>
    /// <example><code>
    /// var m = GroundTruthModels.Cancellation();   // m.FocusNode == "a0.h1"
    /// </code></example>
    public static PlantedModel Cancellation()
    {
        var config = new ModelConfig
        {
            Architecture = Architecture.Llama, DModel = 32, NLayers = 2, NHeads = 2, NKvHeads = 2, DHead = 8, DMlp = 4,
            VocabSize = CVocab, MaxPositions = CPositions, Norm = NormKind.RmsNorm, NormEps = 1e-5f,
            Activation = ActivationKind.Silu, GatedMlp = true, Rotary = RotaryStyle.None, LearnedPositions = true, BosTokenId = 0,
        };
        config.Validate("cancellation ground-truth model");
        var w = new PlantedWeights(config);
        for (int t = 0; t < CVocab; t++) w.Embed(t, CTok + t, 1f);
        for (int p = 0; p < CPositions; p++) w.Pos(p, CPos + p, 1f);
        float Feature(int t) => t is >= 4 and <= 7 ? CancellationPositive : t >= 8 ? -CancellationNegative : 0f;

        // u = a0.h1: attends to its own position (logit 30), writes S = f(token).
        float gs = w.QkWeight(30f);
        for (int p = 0; p < CPositions; p++)
        {
            w.Q(0, 1, CPos + p, p, gs);
            w.K(0, 1, CPos + p, p, gs);
        }
        for (int t = 0; t < CVocab; t++) w.V(0, 1, CTok + t, 0, Feature(t));
        w.O(0, 1, 0, CS, 1f);

        // m1 neuron 0: silu(β(S − S_clean)) · 1, written as γ·(…) into LOGIT. Both gate inputs are scaled alike by the
        // norm, so the gate is 0 at the clean input up to rounding.
        float gamma = -2f * CancellationDirect / CancellationGain;
        w.MlpGate(1, CS, 0, CancellationGain);
        w.MlpGate(1, PlantedWeights.BiasDim, 0, -CancellationGain * CancellationPositive);
        w.MlpIn(1, PlantedWeights.BiasDim, 0, 1f);
        w.MlpOut(1, 0, CLogit, gamma);

        w.Unembed(CancellationYes, CS, CancellationDirect / 2);
        w.Unembed(CancellationNo, CS, -CancellationDirect / 2);
        w.Unembed(CancellationYes, CLogit, 0.5f);
        w.Unembed(CancellationNo, CLogit, -0.5f);

        // Distractors: a0.h0 and a1.h1 read tokens / S but have W_O = 0; a1.h0's pattern depends on S and the tokens,
        // its value only on the bias coordinate, and it writes DIST, which nothing reads.
        float gd = w.QkWeight(1f);
        for (int t = 0; t < CVocab; t++)
        {
            w.Q(0, 0, CTok + t, t % config.DHead, gd);
            w.K(0, 0, CTok + t, t % config.DHead, gd);
            w.V(0, 0, CTok + t, t % config.DHead, 1f);
            w.K(1, 0, CTok + t, 0, gd);
            w.K(1, 1, CTok + t, 0, gd);
        }
        w.Q(1, 0, CS, 0, gd);
        w.V(1, 0, PlantedWeights.BiasDim, 0, 1f);
        w.O(1, 0, 0, CDist, 1f);
        w.Q(1, 1, CS, 0, gd);
        w.V(1, 1, CS, 0, 1f);

        var pairs = Enumerable.Range(0, 4).Select(i => new PromptPair(i,
            new[] { 0, CancellationFiller, 4 + i }, new[] { 0, CancellationFiller, 8 + i },
            new[] { CancellationYes }, new[] { CancellationNo })).ToList();
        var task = new MechTask("cancellation", MetricKind.LogitDiff, pairs);
        var circuit = new HashSet<string>(StringComparer.Ordinal) { "input->a0.h1<v>", "a0.h1->logits" };
        return new PlantedModel("cancellation", config, w.Build(), task, circuit, PlantedModel.NodesOf(circuit),
            "a0.h1 writes S = ±3 from the last token; the logit difference is 2·S + γ·silu(β(S − 3)) with β = 2, γ = −2, so the direct and " +
            "MLP paths cancel in the gradient at the clean input (AtP(a0.h1) = 0) while the MLP saturates for the corrupted S = −3 and " +
            "patching a0.h1 moves the metric by ≈ −12. GradDrop keeps the direct path and scores a0.h1 ≈ 12.")
        {
            MechanismEdges = new HashSet<string>(StringComparer.Ordinal)
            {
                "input->a0.h1<q>", "input->a0.h1<k>", "input->a0.h1<v>", "a0.h1->logits", "a0.h1->m1", "m1->logits",
            },
            DistractorNodes = new HashSet<string>(StringComparer.Ordinal) { "a0.h0", "a1.h0", "a1.h1", "m0" },
            FocusNode = "a0.h1",
        };
    }
}
