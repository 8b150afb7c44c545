using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;
using Xunit;

namespace MechTests.Tests.Engine;

/// <summary>Snapshots depend on it: the same inputs give bit-identical outputs whatever the thread count.</summary>
[Collection("Engine settings")]
public class DeterminismTests
{
    [Fact]
    public void ForwardAndBackwardAreBitIdenticalWithOneAndTwoThreads()
    {
        // Large enough that GEMMs, row kernels and attention all split work across threads.
        var cfg = ModelPresets.Tiny(Architecture.Llama) with { DModel = 128, NHeads = 8, NKvHeads = 4, DHead = 16, DMlp = 344, VocabSize = 700, NLayers = 3, MaxPositions = 64 };
        var engine = new Transformer(cfg, RandomWeights.Create(cfg, seed: 5));
        var rng = new Random(9);
        var tokens = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 40).Select(_ => rng.Next(cfg.VocabSize)).ToArray()).ToArray();
        var dLogits = new Tensor(6, 40, cfg.VocabSize);
        for (int i = 0; i < dLogits.Length; i++) dLogits.Data[i] = (float)(rng.NextDouble() - 0.5);

        (float[] Logits, Dictionary<string, float[]> Grads, Dictionary<string, float[]> Weights) RunWith(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true, SplitQkvInput = true });
                var back = engine.Backward(pass, dLogits, new BackwardOptions { WeightGradients = true });
                return (pass.Logits.Data, back.Gradients.Names.ToDictionary(n => n, n => back.Gradients[n].Data),
                    back.WeightGradients!.ToDictionary(kv => kv.Key, kv => kv.Value));
            }
            finally { Parallelism.MaxThreads = saved; }
        }

        var one = RunWith(1);
        var two = RunWith(2);
        var again = RunWith(2);
        Assert.Equal(one.Logits, two.Logits);
        Assert.Equal(two.Logits, again.Logits);
        Assert.Equal(one.Grads.Keys.Order(), two.Grads.Keys.Order());
        foreach (var name in one.Grads.Keys)
            Assert.True(one.Grads[name].AsSpan().SequenceEqual(two.Grads[name]), $"gradient at {name} differs between 1 and 2 threads");
        foreach (var name in one.Weights.Keys)
            Assert.True(one.Weights[name].AsSpan().SequenceEqual(two.Weights[name]), $"weight gradient {name} differs between 1 and 2 threads");
    }
}
