using MechTests.Hooks;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.TorchSharp.Backend;
using MechTests.Tensors;

namespace MechTests.TorchSharp.Tests;

/// <summary>Shared loading and comparison: the TorchSharp backend is checked against the managed engine.</summary>
internal static class Equivalence
{
    public static readonly string[] ModelList = { "gpt2", "gpt_neox", "llama", "stories260K" };

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "reference", name);

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MechTests.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No MechTests.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>One libtorch thread: the test models are tiny and CI machines small and shared.</summary>
    public static readonly TorchSharpOptions Options = new() { CpuThreads = 1 };

    private static readonly Dictionary<string, LoadedModel> s_models = new();

    public static LoadedModel Load(string name)
    {
        lock (s_models)
        {
            if (!s_models.TryGetValue(name, out var m))
                s_models[name] = m = name == "stories260K"
                    ? ModelLoader.Load(Path.Combine(RepoRoot(), "models", "stories260K", "stories260K.bin"))
                    : ModelLoader.Load(Fixture(name));
            return m;
        }
    }

    public static (Transformer Managed, TorchSharpBackend Torch) Engines(string name)
    {
        var m = Load(name);
        return (new Transformer(m.Config, m.Weights), TorchSharpBackend.Load(m, Options));
    }

    public static int[][] Tokens(ModelConfig c, int batch, int positions, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, positions).Select(_ => rng.Next(c.VocabSize)).ToArray()).ToArray();
    }

    public static Tensor RandomTensor(int seed, params int[] shape)
    {
        var rng = new Random(seed);
        var t = new Tensor(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    /// <summary>
    /// Max |a − b| / scale, where scale = max(|expected|) (at least 1e-6). −∞ entries (masked attention scores) must
    /// match exactly. The tests require ≤ 1e-4.
    /// </summary>
    public static double RelativeError(Tensor expected, Tensor actual, string what)
    {
        if (!expected.SameShape(actual))
            throw new Xunit.Sdk.XunitException($"{what}: shape {actual.ShapeText}, expected {expected.ShapeText}.");
        double scale = 1e-6, worst = 0;
        foreach (float v in expected.Data) if (float.IsFinite(v)) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected.Data[i], a = actual.Data[i];
            if (!float.IsFinite(e) || !float.IsFinite(a))
            {
                if (e != a) throw new Xunit.Sdk.XunitException($"{what}[{i}]: {a}, expected {e}.");
                continue;
            }
            worst = Math.Max(worst, Math.Abs(e - a));
        }
        return worst / scale;
    }
}
