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
    public void SmallBuffersAndBuffersOverTheCapAreLeftToTheGc()
    {
        var pool = new ScratchPool(ScratchPool.DefaultMinLength * sizeof(float));
        pool.Return(new float[16], pool.Rent(ScratchPool.DefaultMinLength), pool.Rent(ScratchPool.DefaultMinLength));
        Assert.Equal(ScratchPool.DefaultMinLength, pool.HeldFloats);
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceTests.Families), MemberType = typeof(FiniteDifferenceTests))]
    public void PassesThatReuseBuffersGiveTheSameBitsAsTheFirstPass(string family)
    {
        var (engine, tokens, r) = FiniteDifferenceTests.Setup(family);
        var pool = new ScratchPool(1L << 30, minLength: 1);
        engine.UseScratchPool(pool);
        var other = tokens.Select(x => x.Reverse().ToArray()).ToArray();
        (float[] Logits, float[] Grad, float[] Z) Once(int[][] toks, bool dispose)
        {
            var pass = engine.Run(toks, new RunOptions { RecordForBackward = true, Cache = HookFilter.Only(HookNames.Z(1)) });
            var g = engine.Backward(pass, r, new BackwardOptions { Gradients = HookFilter.Only(HookNames.Embed) }).Gradients;
            var result = (pass.Logits.Data, g[HookNames.Embed].Data, pass.Cache[HookNames.Z(1)].Data);
            if (dispose) pass.Dispose();
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
            Assert.Equal(first.Z, again.Z);
        }
    }

    [Fact]
    public void ADisposedPassCannotBeBackPropagatedButKeepsItsLogitsAndCache()
    {
        var (engine, tokens, r) = FiniteDifferenceTests.Setup("gpt2");
        engine.UseScratchPool(new ScratchPool(1L << 30, minLength: 1));
        var pass = engine.Run(tokens, new RunOptions { RecordForBackward = true, Cache = HookFilter.Only(HookNames.Z(0)) });
        var logits = (float[])pass.Logits.Data.Clone();
        var z = (float[])pass.Cache[HookNames.Z(0)].Data.Clone();
        pass.Dispose();
        pass.Dispose();
        engine.Run(tokens.Select(x => x.Reverse().ToArray()).ToArray(), new RunOptions { RecordForBackward = true });
        Assert.Equal(logits, pass.Logits.Data);
        Assert.Equal(z, pass.Cache[HookNames.Z(0)].Data);
        var e = Assert.Throws<InvalidOperationException>(() => engine.Backward(pass, r, new BackwardOptions()));
        Assert.Contains("dispose", e.Message);
    }
}
