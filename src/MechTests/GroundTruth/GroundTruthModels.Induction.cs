using MechTests.Models;
using MechTests.Tasks;

namespace MechTests.GroundTruth;

/// <summary>Which token of an induction prompt the corrupted prompt changes, and so which edges carry the difference.</summary>
/// <example><code>
/// var m = GroundTruthModels.Induction(InductionCorruption.CopiedToken);   // circuit: input->a1.h2&lt;v&gt;, a1.h2->logits
/// </code></example>
public enum InductionCorruption
{
    /// <summary>
    /// The earlier occurrence moves: clean <c>[BOS, A, B, E, C, x, A]</c> → B; corrupted <c>[BOS, E, B, A, C, x, A]</c>
    /// → C. The difference flows input → previous-token head (value) → induction head (key) → logits.
    /// </summary>
    EarlierToken,
    /// <summary>
    /// The last token changes: corrupted <c>[BOS, A, B, E, C, x, E]</c> → C. The difference flows input → induction
    /// head (query) → logits.
    /// </summary>
    LastToken,
    /// <summary>
    /// The copied token changes: corrupted <c>[BOS, A, D, E, C, x, A]</c> → D (wrong answer D). The difference flows
    /// input → induction head (value) → logits; it also reaches the previous-token head and the induction head's key at
    /// position 3, but there it changes nothing (the query A matches neither B nor D).
    /// </summary>
    CopiedToken,
}

public static partial class GroundTruthModels
{
    // Induction model residual layout (d_model 64): bias | token one-hot | position one-hot | previous token | output | distractor writes.
    private const int IVocab = 16, IPositions = 8;
    private const int ITok = 1, IPos = ITok + IVocab, IPrev = IPos + IPositions, IOut = IPrev + IVocab, IDist = IOut + IVocab;

    /// <summary>Attention logit of the previous-token head on position t−1 (0 elsewhere): saturated, so it copies exactly.</summary>
    internal const float PreviousTokenLogit = 30f;

    /// <summary>Attention logit of the induction head on a key whose previous token equals the query token.</summary>
    internal const float InductionLogit = 6f;

    /// <summary>Logit of token t per unit of the output direction OUT_t.</summary>
    internal const float InductionUnembedScale = 10f;

    /// <summary>
    /// A 2-layer attention-only induction model (Llama family: RMSNorm, learned positions, no rotary; 3 heads of 16
    /// dims per layer, d_model 64, vocabulary 16 with BOS = 0) and a task of <paramref name="pairs"/> prompt pairs.
    /// <list type="bullet">
    /// <item><c>a0.h1</c> previous-token head: query POS_t and key POS_{t−1} (logit 30, saturated), value TOK → PREV.</item>
    /// <item><c>a1.h2</c> induction head: query TOK, key PREV (logit 6 on a match), value TOK → OUT; unembedding OUT_t ×10.</item>
    /// <item>Distractors: <c>a0.h0</c> (attends by token, W_O = 0), <c>a0.h2</c> (token-dependent pattern, values the
    /// constant bias coordinate, writes DIST_0), <c>a1.h0</c> (pattern from PREV and TOK, constant value into DIST_1),
    /// <c>a1.h1</c> (a copy of the induction head's QK and V circuits with W_O = 0); MLPs zeroed. Nothing reads DIST.</item>
    /// </list>
    /// The planted circuit depends on the corruption (see <see cref="InductionCorruption"/>);
    /// <see cref="PlantedModel.MechanismEdges"/> is the whole induction mechanism.
    /// </summary>
    /// <example><code>
    /// var m = GroundTruthModels.Induction(InductionCorruption.EarlierToken);
    /// // m.CircuitEdges: input->a0.h1&lt;v&gt;, a0.h1->a1.h2&lt;k&gt;, a1.h2->logits
    /// </code></example>
    public static PlantedModel Induction(InductionCorruption corruption = InductionCorruption.EarlierToken, int pairs = 4, int seed = 1)
    {
        if (pairs < 1) throw new ArgumentOutOfRangeException(nameof(pairs), $"pairs must be ≥ 1 (got {pairs}).");
        var config = new ModelConfig
        {
            Architecture = Architecture.Llama, DModel = 64, NLayers = 2, NHeads = 3, NKvHeads = 3, DHead = 16, DMlp = 4,
            VocabSize = IVocab, MaxPositions = IPositions, Norm = NormKind.RmsNorm, NormEps = 1e-5f,
            Activation = ActivationKind.Silu, GatedMlp = true, Rotary = RotaryStyle.None, LearnedPositions = true, BosTokenId = 0,
        };
        config.Validate("induction ground-truth model");
        var w = new PlantedWeights(config);
        for (int t = 0; t < IVocab; t++) w.Embed(t, ITok + t, 1f);
        for (int p = 0; p < IPositions; p++) w.Pos(p, IPos + p, 1f);
        for (int t = 0; t < IVocab; t++) w.Unembed(t, IOut + t, InductionUnembedScale);

        // a0.h1, previous-token head: q_t = g·e_t, k_j = g·e_{j+1}, so the logit is 30 exactly when j = t − 1.
        float gp = w.QkWeight(PreviousTokenLogit);
        for (int p = 0; p < IPositions; p++)
        {
            w.Q(0, 1, IPos + p, p, gp);
            if (p + 1 < IPositions) w.K(0, 1, IPos + p, p + 1, gp);
        }
        for (int t = 0; t < IVocab; t++)
        {
            w.V(0, 1, ITok + t, t, 1f);
            w.O(0, 1, t, IPrev + t, 1f);
        }

        // a1.h2, induction head: the query token t matches a key whose previous token is t; it copies that key's token.
        float gi = w.QkWeight(InductionLogit);
        for (int t = 0; t < IVocab; t++)
        {
            w.Q(1, 2, ITok + t, t, gi);
            w.K(1, 2, IPrev + t, t, gi);
            w.V(1, 2, ITok + t, t, 1f);
            w.O(1, 2, t, IOut + t, 1f);
        }

        // Distractors. Their patterns respond to the corruption, but their writes cannot: W_O = 0, or values that read
        // only the constant bias coordinate (so Σ_j A_j v_j = v whatever A is) written into DIST, which nothing reads.
        float gd = w.QkWeight(1f);
        for (int t = 0; t < IVocab; t++)
        {
            w.Q(0, 0, ITok + t, t, gd);
            w.K(0, 0, ITok + t, t, gd);
            w.V(0, 0, ITok + t, t, 1f);                      // a0.h0: W_O stays 0
            w.Q(0, 2, ITok + t, t, gd);
            w.K(0, 2, ITok + t, (t + 3) % IVocab, gd);
            w.Q(1, 0, IPrev + t, t, gd);
            w.K(1, 0, ITok + t, t, gd);
            w.Q(1, 1, ITok + t, t, gi);                      // a1.h1: the induction QK and OV reads, W_O stays 0
            w.K(1, 1, IPrev + t, t, gi);
            w.V(1, 1, ITok + t, t, 1f);
        }
        w.V(0, 2, PlantedWeights.BiasDim, 0, 1f);
        w.O(0, 2, 0, IDist, 1f);
        w.V(1, 0, PlantedWeights.BiasDim, 0, 1f);
        w.O(1, 0, 0, IDist + 1, 1f);

        var task = InductionTask(corruption, pairs, seed);
        string[] circuit = corruption switch
        {
            InductionCorruption.EarlierToken => new[] { "input->a0.h1<v>", "a0.h1->a1.h2<k>", "a1.h2->logits" },
            InductionCorruption.LastToken => new[] { "input->a1.h2<q>", "a1.h2->logits" },
            _ => new[] { "input->a1.h2<v>", "a1.h2->logits" },
        };
        string how = corruption switch
        {
            InductionCorruption.EarlierToken =>
                "The earlier A moves from position 1 to 3, so the previous-token head's writes at positions 2 and 4 swap (input->a0.h1<v>), the " +
                "induction head's keys swap (a0.h1->a1.h2<k>) and it attends to C instead of B (a1.h2->logits). Its query (A at the last position) " +
                "and its values at the attended positions (B, C) are the same in both prompts, so input->a1.h2<q>/<v> carry no difference that matters.",
            InductionCorruption.LastToken =>
                "Only the last token changes (A → E), so only the induction head's query (input->a1.h2<q>) and its write (a1.h2->logits) carry the " +
                "difference; keys and values are identical, and the direct path input->logits is ignored by the unembedding.",
            _ =>
                "B at position 2 becomes D: the induction head still attends to position 2 and copies D (input->a1.h2<v>, a1.h2->logits). The " +
                "previous-token head also carries the change (prev(3) = B vs D), but the query A matches neither, so input->a0.h1<v> and " +
                "a0.h1->a1.h2<k> carry a difference with exactly zero effect and are not in the circuit.",
        };
        var circuitSet = circuit.ToHashSet(StringComparer.Ordinal);
        return new PlantedModel($"induction-{Kebab(corruption)}", config, w.Build(), task, circuitSet, PlantedModel.NodesOf(circuitSet),
            "2-layer attention-only induction: a0.h1 copies the previous token into PREV (attention logit 30 on t−1), a1.h2 matches the " +
            "current token against PREV (logit 6) and copies the matched position's token to the output (×10). " + how +
            " Distractors a0.h0, a1.h1 (W_O = 0) and a0.h2, a1.h0 (constant values into unread DIST) and the zeroed MLPs m0, m1 are irrelevant.")
        {
            MechanismEdges = new HashSet<string>(StringComparer.Ordinal)
            {
                "input->a0.h1<q>", "input->a0.h1<k>", "input->a0.h1<v>", "a0.h1->a1.h2<k>", "input->a1.h2<q>", "input->a1.h2<v>", "a1.h2->logits",
            },
            DistractorNodes = new HashSet<string>(StringComparer.Ordinal) { "a0.h0", "a0.h2", "a1.h0", "a1.h1", "m0", "m1" },
        };
    }

    private static MechTask InductionTask(InductionCorruption corruption, int count, int seed)
    {
        var rng = new Random(seed);
        var pairs = new List<PromptPair>();
        for (int i = 0; i < count; i++)
        {
            // Six distinct non-BOS tokens: A (repeated), B (answer), E and C (another bigram E→C), x (filler), D (substitute).
            var tok = Enumerable.Range(1, IVocab - 1).OrderBy(_ => rng.Next()).Take(6).ToArray();
            int a = tok[0], b = tok[1], e = tok[2], c = tok[3], x = tok[4], d = tok[5];
            var clean = new[] { 0, a, b, e, c, x, a };
            var (corrupted, wrong) = corruption switch
            {
                InductionCorruption.EarlierToken => (new[] { 0, e, b, a, c, x, a }, c),
                InductionCorruption.LastToken => (new[] { 0, a, b, e, c, x, e }, c),
                _ => (new[] { 0, a, d, e, c, x, a }, d),
            };
            pairs.Add(new PromptPair(i, clean, corrupted, new[] { b }, new[] { wrong }));
        }
        return new MechTask($"induction-{Kebab(corruption)}", MetricKind.LogitDiff, pairs);
    }

    private static string Kebab(InductionCorruption c) => c switch
    {
        InductionCorruption.EarlierToken => "earlier-token",
        InductionCorruption.LastToken => "last-token",
        _ => "copied-token",
    };
}
