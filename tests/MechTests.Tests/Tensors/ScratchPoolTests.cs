using MechTests.Hooks;
using MechTests.Models;
using MechTests.Tensors;
using MechTests.Tests.Engine;
using Xunit;

namespace MechTests.Tests.Tensors;

public class ScratchPoolTests
{
    [Fact]
    public void ARentedBufferIsReusedAndComesBackZeroed()
    {
        var pool = new ScratchPool(1L << 30);
        var a = pool.Rent(ScratchPool.DefaultMinLength);
        a[7] = 3f;
        pool.Return(a);
        Assert.Equal(ScratchPool.DefaultMinLength, pool.HeldFloats);
        var b = pool.Rent(ScratchPool.DefaultMinLength);
        Assert.Same(a, b);
        Assert.All(b, v => Assert.Equal(0f, v));
        Assert.Equal(0, pool.HeldFloats);
    }

    [Fact]
    public void ReturningTheSameBufferTwiceThrowsInsteadOfSharingIt()
    {
        var pool = new ScratchPool(1L << 30);
        var a = pool.Rent(ScratchPool.DefaultMinLength);
        pool.Return(a, a); // duplicates within one call are one return
        var e = Assert.Throws<InvalidOperationException>(() => pool.Return(a));
        Assert.Contains("returned twice", e.Message);
    }

    [Fact]
    public void SmallBuffersAreLeftToTheGcAndAtTheCapTheLongestHeldGoFirst()
    {
        int n = ScratchPool.DefaultMinLength;
        var pool = new ScratchPool(2L * n * sizeof(float));
        float[] a = new float[n], b = new float[n], c = new float[n + 1], huge = new float[3 * n];
        pool.Return(new float[16], a, b, huge);
        Assert.Equal(2L * n, pool.HeldFloats); // the small one and the one larger than the cap are not held
        pool.Return(c); // n + 1 more floats: a and b (oldest first) must go to make room
        Assert.Equal(n + 1, pool.HeldFloats);
        Assert.Same(c, pool.Rent(n + 1));
        Assert.NotSame(a, pool.Rent(n));
        pool.Return(a, b);
        var x = new float[n];
        pool.Return(x); // evicts a only
        Assert.Same(x, pool.Rent(n));
        Assert.Same(b, pool.Rent(n));
        Assert.NotSame(a, pool.Rent(n));
        Assert.Equal(0, pool.HeldFloats);
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceTests.Families), MemberType = typeof(FiniteDifferenceTests))]
    public void PassesThatReuseBuffersGiveTheSameBitsAsTheFirstPass(string family)
    {
        var (engine, tokens, r) = FiniteDifferenceTests.Setup(family);
        var pool = new ScratchPool(1L << 30, minLength: 1);
        engine.UseScratchPool(pool);
        var other = tokens.Select(x => x.Reverse().ToArray()).ToArray();
        (float[] Logits, float[] Grad, float[] Result, float[] Z) Once(int[][] toks, bool dispose)
        {
            var pass = engine.Run(toks, new RunOptions { RecordForBackward = true, Cache = HookFilter.Only(HookNames.Z(1)) });
            // hook_result and hook_mlp_post are handed over without a copy; embed is copied.
            var backward = engine.Backward(pass, r, new BackwardOptions { Gradients = HookFilter.Only(HookNames.Embed, HookNames.Result(0), HookNames.MlpPost(1)) });
            var g = backward.Gradients;
            var result = ((float[])pass.Logits.Data.Clone(), (float[])g[HookNames.Embed].Data.Clone(),
                (float[])g[HookNames.Result(0)].Data.Clone(), (float[])pass.Cache[HookNames.Z(1)].Data.Clone());
            if (dispose)
            {
                backward.Dispose();
                pass.Dispose();
            }
            return result;
        }
        var first = Once(tokens, dispose: true);
        Assert.True(pool.HeldFloats > 0, "the tiny model's buffers should go through the pool");
        for (int i = 0; i < 3; i++)
        {
            Once(other, dispose: true);
            engine.Run(other, new RunOptions { SplitQkvInput = true });
            var again = Once(tokens, dispose: i % 2 == 0);
            Assert.Equal(first.Logits, again.Logits);
            Assert.Equal(first.Grad, again.Grad);
            Assert.Equal(first.Result, again.Result);
            Assert.Equal(first.Z, again.Z);
        }
    }

    [Fact]
    public void ADisposedPassGivesItsLogitsCacheAndRecordBack()
    {
        var (engine, tokens, r) = FiniteDifferenceTests.Setup("gpt2");
        var pool = new ScratchPool(1L << 30, minLength: 1);
        engine.UseScratchPool(pool);
        var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true, Cache = HookFilter.Only(HookNames.Z(0)) });
        var logits = pass.Logits.Data;
        var z = pass.Cache[HookNames.Z(0)].Data;
        long held = pool.HeldFloats;
        pass.Dispose();
        pass.Dispose();
        Assert.True(pool.HeldFloats >= held + logits.Length + z.Length, $"held {pool.HeldFloats} after dispose, {held} before");
        var next = engine.Run(tokens.Select(x => x.Reverse().ToArray()).ToArray(), new RunOptions { Cache = HookFilter.Only(HookNames.Z(0)) });
        Assert.Same(logits, next.Logits.Data); // the buffer went back and was reused: why reading it afterwards throws
        Assert.Contains("before disposing", Assert.Throws<ObjectDisposedException>(() => pass.Logits).Message);
        Assert.Throws<ObjectDisposedException>(() => pass.Cache);
        var e = Assert.Throws<InvalidOperationException>(() => engine.Backward(pass, r, new BackwardOptions()));
        Assert.Contains("dispose", e.Message);
    }

    [Fact]
    public void ADisposedBackwardPassGivesItsGradientBuffersBackButKeepsWeightGradients()
    {
        var (engine, tokens, r) = FiniteDifferenceTests.Setup("llama");
        var pool = new ScratchPool(1L << 30, minLength: 1);
        engine.UseScratchPool(pool);
        using var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true });
        var options = new BackwardOptions { Gradients = HookFilter.Only(HookNames.Result(0), HookNames.Embed), WeightGradients = true };
        var backward = engine.Backward(pass, r, options);
        var result = backward.Gradients[HookNames.Result(0)].Data;
        var expected = (float[])result.Clone();
        var weights = backward.WeightGradients!.ToDictionary(kv => kv.Key, kv => (float[])kv.Value.Clone());
        long held = pool.HeldFloats;
        backward.Dispose();
        Assert.Equal(held + result.Length + pass.Batch * pass.Positions * engine.Config.DModel, pool.HeldFloats);
        var again = engine.Backward(pass, r, options);
        Assert.Equal(expected, again.Gradients[HookNames.Result(0)].Data);
        Assert.Throws<ObjectDisposedException>(() => backward.Gradients);
        foreach (var (name, g) in weights) Assert.Equal(g, backward.WeightGradients![name]);
    }
}
