using MechTests.Attribution;
using MechTests.GroundTruth;
using MechTests.Patching;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Tests.GroundTruth;

/// <summary>
/// The two failure modes of attribution patching that AtP* fixes, on models built to exhibit them: cancellation
/// (GradDrop) and saturated attention (the QK fix).
/// </summary>
public class GradientFailureTests(ITestOutputHelper output)
{
    [Fact]
    public void GradDropRecoversANodeWhoseGradientPathsCancel()
    {
        var p = Planted.Get("cancellation");
        var (m, runs) = (p.Model, p.Runs);
        string u = m.FocusNode!;
        var nodes = NodeSets.Build(m.Config, NodeGranularity.Component);
        var patch = NodePatching.Run(runs, nodes).Effects[u];
        var atp = NodeAttribution.AtP(runs, nodes, Aggregation.SignedMean).Scores[u];
        var gradDrop = NodeAttribution.AtPStar(runs, nodes).Scores[u];
        output.WriteLine($"{u}: patching {patch:F4}, AtP {atp:E3}, GradDrop (AtP*) {gradDrop:F4}");
        Assert.True(patch < -0.9 * (runs.CleanMetric - runs.CorruptedMetric), $"patching {patch}");
        Assert.True(Math.Abs(atp) < 0.1 * Math.Abs(patch), $"AtP {atp} vs patching {patch}");
        // Exact cancellation by construction (up to the norms' O(1e-5) curvature), not merely "small".
        Assert.True(Math.Abs(atp) < 1e-3 * Math.Abs(patch), $"AtP {atp} vs patching {patch}");
        Assert.True(gradDrop >= 0.5 * Math.Abs(patch), $"GradDrop {gradDrop} vs patching {patch}");
        Assert.InRange(gradDrop / Math.Abs(patch), 0.99, 1.01);
    }

    [Fact]
    public void EdgesSeparateTheCancellingPathsButLineariseTheSaturatedOne()
    {
        var p = Planted.Get("cancellation");
        var eap = p.Eap.Scores;
        var patch = p.EdgeEffects.Effects;
        const string direct = "a0.h1->logits", indirect = "a0.h1->m1";
        output.WriteLine($"{direct}: EAP {eap[direct]:F4}, patching {patch[direct]:F4}; {indirect}: EAP {eap[indirect]:F4}, patching {patch[indirect]:F4}");
        // Edge scores split u's zero node score into its two paths: −12 direct, +12 through the MLP...
        Assert.InRange(eap[direct] / patch[direct], 0.999, 1.001);
        Assert.InRange(eap[indirect], 0.99 * -eap[direct], 1.01 * -eap[direct]);
        // ...but the MLP path saturates: its true effect is ≈ 0, so EAP overestimates it by orders of magnitude.
        Assert.True(Math.Abs(patch[indirect]) < 1e-3 * Math.Abs(patch[direct]), $"patching {indirect}: {patch[indirect]}");
    }

    [Fact]
    public void QkFixRecoversASaturatedKey()
    {
        var p = Planted.Get("saturated-attention");
        var (m, runs) = (p.Model, p.Runs);
        var nodes = NodeSets.Build(m.Config, NodeGranularity.QueryKeyValue);
        var patch = NodePatching.Run(runs, nodes).Effects;
        var atp = NodeAttribution.AtP(runs, nodes, Aggregation.SignedMean).Scores;
        var qk = NodeAttribution.AtPStar(runs, nodes, qkFix: true, gradDrop: false).Scores;
        var star = NodeAttribution.AtPStar(runs, nodes).Scores;
        string key = m.FocusNode!;
        output.WriteLine($"{key}: patching {patch[key]:F4}, AtP {atp[key]:E3}, AtP* QK fix {qk[key]:F4}, AtP* QK fix + GradDrop {star[key]:F4}");
        Assert.True(patch[key] < -0.9 * (runs.CleanMetric - runs.CorruptedMetric), $"patching {patch[key]}");
        Assert.True(Math.Abs(atp[key]) < 0.05 * Math.Abs(patch[key]), $"AtP {atp[key]} vs patching {patch[key]}");
        Assert.True(Math.Abs(atp[key]) < 1e-5 * Math.Abs(patch[key]), $"AtP {atp[key]}: saturation leaves ∝ e^−20");
        Assert.InRange(qk[key] / patch[key], 0.8, 1.2);
        Assert.InRange(qk[key] / patch[key], 0.999, 1.001);
        Assert.InRange(star[key] / Math.Abs(patch[key]), 0.999, 1.001);
        // The query and value carry no difference: all methods agree on zero.
        foreach (var other in new[] { "a1.h0.q", "a1.h0.v" })
        {
            Assert.Equal(0.0, patch[other], 9);
            Assert.Equal(0.0, qk[other], 6);
        }
    }

    [Fact]
    public void SaturatedKeyEdgeIsMissedByEapAndFoundByAtPStar()
    {
        var p = Planted.Get("saturated-attention");
        var m = p.Model;
        int n = m.CircuitEdges.Count;
        const string keyEdge = "input->a1.h0<k>";
        var (eapP, eapR) = CircuitScore.PrecisionRecallAtK(p.Eap.Scores, m.CircuitEdges, n);
        var (starP, starR) = CircuitScore.PrecisionRecallAtK(p.AtPStar.Scores, m.CircuitEdges, n);
        output.WriteLine($"{keyEdge}: patching {p.EdgeEffects.Effects[keyEdge]:F4}, EAP {p.Eap.Scores[keyEdge]:E3}, EAP-IG {p.EapIg.Scores[keyEdge]:F4}, AtP* {p.AtPStar.Scores[keyEdge]:F4}");
        output.WriteLine($"precision/recall at n = {n}: EAP {eapP:F2}/{eapR:F2}, AtP* {starP:F2}/{starR:F2}");
        Assert.True(Math.Abs(p.Eap.Scores[keyEdge]) < 1e-5 * Math.Abs(p.EdgeEffects.Effects[keyEdge]));
        Assert.Equal(0.5, eapR, 9);
        Assert.Equal(1.0, starR, 9);
        Assert.InRange(p.AtPStar.Scores[keyEdge] / Math.Abs(p.EdgeEffects.Effects[keyEdge]), 0.999, 1.001);
    }
}
