namespace MechTests.Models;

/// <summary>Seeded normal samples (Box–Muller), shared by random and GPT-2-initialised weights so both stay bit-stable.</summary>
internal static class NormalSampler
{
    /// <summary><paramref name="count"/> samples of N(0, <paramref name="std"/>²), two per pair of uniforms from <paramref name="rng"/>.</summary>
    public static float[] Sample(Random rng, int count, float std)
    {
        var a = new float[count];
        for (int i = 0; i < count; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            a[i] = (float)(std * r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count) a[i + 1] = (float)(std * r * Math.Sin(2 * Math.PI * u2));
        }
        return a;
    }
}
