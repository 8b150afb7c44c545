using MechTests.Circuits;
using MechTests.Models;
using MechTests.Models.Loading;
using MechTests.Tensors;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>
/// The checked-in circuits regenerate to the same bytes under every GEMM kernel this CPU can run and with one or two
/// threads (the multi-threaded GEMM path forced even for small products): written numbers do not depend on how the
/// engine was scheduled or which SIMD kernel it used. The expected bytes are the committed files themselves, written
/// by <c>mechtests discover</c> on another machine, so the test also catches a regeneration that would churn them.
/// </summary>
[Collection("Engine settings")]
public sealed class ByteStabilityTests
{
    private static readonly Lazy<LoadedModel> s_model = new(EmbeddedModels.LoadStories260K);

    /// <summary>
    /// (file, kernel, threads): name-copy — which runs every stage (AtP* scores, greedy, faithfulness, curves,
    /// completeness, minimality) — under every kernel this CPU supports on two threads and the default on one; the
    /// larger pronoun circuit once, on the settings furthest from how it was written (portable kernel, one thread); the
    /// circuits of the trained GPT-2s (models/*-2l) once each, on those settings too.
    /// </summary>
    public static TheoryData<string, GemmKernel, int> Settings()
    {
        var data = new TheoryData<string, GemmKernel, int> { { "name-copy", GemmKernel.Auto, 1 } };
        foreach (var kernel in new[] { GemmKernel.Avx512, GemmKernel.Avx2, GemmKernel.Portable })
            if (Gemm.IsSupported(kernel)) data.Add("name-copy", kernel, 2);
        data.Add("pronoun", GemmKernel.Portable, 1);
        data.Add("induction", GemmKernel.Portable, 1);
        data.Add("greater-than", GemmKernel.Portable, 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void CheckedInCircuitRegeneratesByteForByte(string name, GemmKernel kernel, int threads)
    {
        var path = Path.Combine(TestPaths.RepoRoot, "circuits", name + ".json");
        string committed = File.ReadAllText(path);
        // The accepted snapshot is the same bytes (verify --accept writes the re-derivation).
        Assert.Equal(committed, File.ReadAllText(SnapshotVerifier.VerifiedPathOf(Path.ChangeExtension(path, null))));

        var saved = (Gemm.ForcedKernel, Parallelism.MaxThreads, GemmTuning.ParallelThreshold);
        string regenerated;
        try
        {
            Gemm.ForcedKernel = kernel;
            Parallelism.MaxThreads = threads;
            GemmTuning.ParallelThreshold = 0; // every product takes the tiled multi-threaded path when threads > 1
            var file = CircuitFile.Read(path);
            // A circuit with model.path is about that model; without, about the embedded stories260K.
            var model = file.ResolveModelPath() is string modelPath ? ModelLoader.Load(modelPath) : s_model.Value;
            regenerated = CircuitPipeline.Rederive(file, model).ToJson();
        }
        finally
        {
            (Gemm.ForcedKernel, Parallelism.MaxThreads, GemmTuning.ParallelThreshold) = saved;
        }
        Assert.True(committed == regenerated,
            $"{name}.json regenerated under {kernel} on {threads} thread(s) differs from the committed bytes; first difference:\n{FirstDifference(committed, regenerated)}");
    }

    [Fact]
    public void EveryCheckedInCircuitIsCovered()
    {
        var names = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "circuits"), "*.json")
            .Where(f => !f.EndsWith(SnapshotVerifier.VerifiedSuffix, StringComparison.Ordinal) && !f.EndsWith(SnapshotVerifier.ReceivedSuffix, StringComparison.Ordinal))
            .Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal);
        Assert.Equal(names, Settings().Select(row => (string)row[0]).Distinct().Order(StringComparer.Ordinal));
    }

    private static string FirstDifference(string a, string b)
    {
        string[] la = a.Split('\n'), lb = b.Split('\n');
        for (int i = 0; i < Math.Max(la.Length, lb.Length); i++)
        {
            string x = i < la.Length ? la[i] : "<end>", y = i < lb.Length ? lb[i] : "<end>";
            if (x != y) return $"line {i + 1}:\n  committed:   {x}\n  regenerated: {y}";
        }
        return "(none)";
    }
}
