using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;
using Xunit;

namespace MechTests.Tests.Engine;

/// <summary>
/// Analytic gradients against central finite differences, taken through the engine's own intervention mechanism
/// (adding ±ε at one coordinate of a hook point), for every hook point and a sample of weights of every family.
/// </summary>
public class FiniteDifferenceTests
{
    public static TheoryData<string> Families => new() { "gpt2", "neox", "llama", "llama-interleaved" };

    internal static (Transformer Engine, int[][] Tokens, Tensor R) Setup(string family)
    {
        var cfg = family switch
        {
            "gpt2" => ModelPresets.Tiny(Architecture.Gpt2),
            "neox" => ModelPresets.Tiny(Architecture.GptNeoX),
            "llama" => ModelPresets.Tiny(Architecture.Llama),
            _ => ModelPresets.Tiny(Architecture.Llama) with { Rotary = RotaryStyle.Interleaved },
        };
        var engine = new Transformer(cfg, RandomWeights.Create(cfg, seed: 7, scale: 1.5f));
        var tokens = new[] { new[] { 3, 17, 5, 42, 9 }, new[] { 11, 2, 33, 7, 49 } };
        var rng = new Random(3);
        var r = new Tensor(2, 5, cfg.VocabSize);
        for (int i = 0; i < r.Length; i++) r.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        return (engine, tokens, r);
    }

    internal static double Metric(Tensor logits, Tensor r)
    {
        double s = 0;
        for (int i = 0; i < logits.Length; i++) s += (double)logits.Data[i] * r.Data[i];
        return s;
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void HookPointGradientsMatchFiniteDifferences(string family)
    {
        var (engine, tokens, r) = Setup(family);
        var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true, Cache = HookFilter.All });
        var grads = engine.Backward(pass, r, new BackwardOptions()).Gradients;
        var rng = new Random(11);
        const float eps = 1e-2f;
        int checkedCount = 0;
        foreach (var hook in engine.AllHookNames())
        {
            Assert.True(grads.Contains(hook), $"no gradient for {hook}");
            var act = pass.Cache.Contains(hook) ? pass.Cache[hook] : null;
            var g = grads[hook];
            for (int trial = 0; trial < 3; trial++)
            {
                int idx = rng.Next(g.Length);
                if (Intervention.IsAttentionHook(hook))
                {
                    int tq = (idx / g.Shape[3]) % g.Shape[2], tk = idx % g.Shape[3];
                    if (tk > tq && hook.EndsWith("scores", StringComparison.Ordinal)) continue; // −∞ stays −∞
                }
                double Perturbed(float delta)
                {
                    var add = new Tensor(g.Shape);
                    add.Data[idx] = delta;
                    var p = engine.Run(tokens, new RunOptions { Interventions = { Intervention.Add(hook, add) } });
                    return Metric(p.Logits, r);
                }
                double fd = (Perturbed(eps) - Perturbed(-eps)) / (2 * eps);
                double analytic = g.Data[idx];
                Assert.True(Math.Abs(fd - analytic) <= 2e-3 + 1e-2 * Math.Abs(analytic),
                    $"{family} {hook}[{idx}]: analytic {analytic:G6} vs finite difference {fd:G6} (activation {act?.Data[idx]:G4})");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 40);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void WeightGradientsMatchFiniteDifferences(string family)
    {
        var (engine, tokens, r) = Setup(family);
        var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true });
        var wg = engine.Backward(pass, r, new BackwardOptions { WeightGradients = true, Gradients = HookFilter.None }).WeightGradients!;
        var rng = new Random(5);
        const float eps = 1e-2f;
        foreach (var (name, w) in engine.Weights.Named())
        {
            Assert.True(wg.ContainsKey(name), $"no gradient for weight {name}");
            Assert.Equal(w.Length, wg[name].Length);
            for (int trial = 0; trial < 2; trial++)
            {
                int idx = rng.Next(w.Length);
                if (name == "embed.W_E" && trial == 0) idx = tokens[0][1] * engine.Config.DModel + 3; // a used row
                float orig = w[idx];
                w[idx] = orig + eps;
                double up = Metric(engine.Run(tokens, RunOptions.Default).Logits, r);
                w[idx] = orig - eps;
                double down = Metric(engine.Run(tokens, RunOptions.Default).Logits, r);
                w[idx] = orig;
                double fd = (up - down) / (2 * eps);
                double analytic = wg[name][idx];
                Assert.True(Math.Abs(fd - analytic) <= 2e-3 + 1e-2 * Math.Abs(analytic),
                    $"{family} weight {name}[{idx}]: analytic {analytic:G6} vs finite difference {fd:G6}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void SplitInputModeGivesTheSameForwardAndGradients(string family)
    {
        var (engine, tokens, r) = Setup(family);
        var plain = engine.Run(tokens, new RunOptions { RecordForBackward = true });
        var split = engine.Run(tokens, new RunOptions { RecordForBackward = true, SplitQkvInput = true });
        for (int i = 0; i < plain.Logits.Length; i++)
            Assert.True(Math.Abs(plain.Logits.Data[i] - split.Logits.Data[i]) < 1e-4, $"logit {i}");
        var g1 = engine.Backward(plain, r, new BackwardOptions()).Gradients;
        var g2 = engine.Backward(split, r, new BackwardOptions()).Gradients;
        foreach (var name in new[] { HookNames.Embed, HookNames.QInput(1), HookNames.KInput(0), HookNames.Ln1(1), HookNames.ResidPre(1) })
        {
            var a = g1[name].Data;
            var b = g2[name].Data;
            for (int i = 0; i < a.Length; i++)
                Assert.True(Math.Abs(a[i] - b[i]) < 1e-4 + 1e-4 * Math.Abs(a[i]), $"{name}[{i}]: {a[i]} vs {b[i]}");
        }
    }
}
