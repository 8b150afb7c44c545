using System.Text.Json;
using MechTests.Circuits;
using MechTests.Models.Loading;
using MechTests.Tasks;
using MechTests.Xunit.Tests.Samples;
using Xunit;

namespace MechTests.Xunit.Tests;

/// <summary>
/// Circuits of several models in one folder (issue 14, item 2): a row of <c>[CircuitFiles]</c> loads the model its
/// file names in <c>model.path</c>, so the embedded model's circuit and a random GPT-2's sit side by side and both
/// verify; a circuit pointed at the wrong model fails with advice a test can follow, not CLI advice.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public class SeveralModelsTests
{
    private static readonly SnapshotVerifier Accepting = new(new SnapshotSettings { AcceptRequested = true });

    /// <summary>A seeded random GPT-2 (2 layers × 2 heads, d = 8, vocabulary 11) as a Hugging Face folder; no tokenizer.</summary>
    internal static string WriteRandomGpt2(string folder, int seed = 7)
    {
        const int d = 8, m = 32, v = 11, p = 7;
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model_type"] = "gpt2", ["n_embd"] = d, ["n_layer"] = 2, ["n_head"] = 2, ["n_inner"] = null, ["vocab_size"] = v,
            ["n_positions"] = p, ["layer_norm_epsilon"] = 1e-5, ["activation_function"] = "gelu_new",
        }));
        var rng = new Random(seed);
        var w = new SafeTensorsWriter();
        void Add(string name, float centre, params int[] shape)
        {
            var data = new float[shape.Aggregate(1, (a, b) => a * b)];
            for (int i = 0; i < data.Length; i++) data[i] = centre + (float)(rng.NextDouble() - 0.5);
            w.Add(name, data, shape);
        }
        Add("wte.weight", 0, v, d);
        Add("wpe.weight", 0, p, d);
        for (int l = 0; l < 2; l++)
        {
            string h = $"h.{l}.";
            Add(h + "ln_1.weight", 1, d); Add(h + "ln_1.bias", 0, d);
            Add(h + "attn.c_attn.weight", 0, d, 3 * d); Add(h + "attn.c_attn.bias", 0, 3 * d);
            Add(h + "attn.c_proj.weight", 0, d, d); Add(h + "attn.c_proj.bias", 0, d);
            Add(h + "ln_2.weight", 1, d); Add(h + "ln_2.bias", 0, d);
            Add(h + "mlp.c_fc.weight", 0, d, m); Add(h + "mlp.c_fc.bias", 0, m);
            Add(h + "mlp.c_proj.weight", 0, m, d); Add(h + "mlp.c_proj.bias", 0, d);
        }
        Add("ln_f.weight", 1, d); Add("ln_f.bias", 0, d);
        w.Write(Path.Combine(folder, "model.safetensors"));
        return folder;
    }

    /// <summary>A top-5 EAP circuit of the random GPT-2 on an inline two-pair task, naming its model by <paramref name="modelPath"/>.</summary>
    internal static CircuitFile Gpt2Circuit(string modelFolder, string modelPath)
    {
        var model = ModelLoader.Load(modelFolder);
        var task = new MechTask("swap", MetricKind.LogitDiff,
        [
            new PromptPair(0, [1, 2, 3, 4], [1, 5, 3, 4], [2], [5]),
            new PromptPair(1, [6, 7, 8, 9], [6, 10, 8, 9], [7], [10]),
        ]);
        return CircuitPipeline.Discover(model, task, TaskReference.Inline(task), new DiscoverySpec { Method = "top-n", Scores = "eap", N = 5 },
            new EvaluationPlan { Completeness = null, MinimalityDelta = null }).WithModelPath(modelPath);
    }

    [Fact]
    public void EachRowLoadsTheModelItsFileNamesSoCircuitsOfTwoModelsShareAFolder()
    {
        using var dir = new TempFolder();
        using var env = new EnvironmentScope().Set(VerifySample.Folder, Path.Combine(dir.Path, "circuits")).Set(ModelLocator.ModelVariable, null).Set(BuildFacts.StrictVariable, null);
        // The model outside the circuits folder: its config.json is not a circuit.
        WriteRandomGpt2(Path.Combine(dir.Path, "models", "gpt2-random"));
        string gpt2Claim = dir.Write("circuits/gpt2-random/swap.json", Gpt2Circuit(Path.Combine(dir.Path, "models", "gpt2-random"), "../../models/gpt2-random").ToJson());
        string storiesClaim = dir.Write("circuits/name-copy-empty.json", Stories.EmptyJson);
        // Snapshots accepted directly (not through MECHTESTS_ACCEPT, which CI=true would refuse).
        CircuitCase.ForFile(gpt2Claim).Verify(new RecordingOutput(), Accepting);
        CircuitCase.ForFile(storiesClaim).Verify(new RecordingOutput(), Accepting);
        Assert.Contains("\"path\": \"../../models/gpt2-random\"", File.ReadAllText(Path.Combine(dir.Path, "circuits", "gpt2-random", "swap.verified.json")));
        Assert.Contains("\"schemaVersion\": 2", File.ReadAllText(gpt2Claim));
        Assert.Contains("\"schemaVersion\": 1", File.ReadAllText(storiesClaim));

        var results = InProcessRunner.Run(typeof(VerifySample));

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal("passed", r.Outcome));
        var gpt2Row = Assert.Single(results, r => r.DisplayName.EndsWith("(circuit: gpt2-random/swap)", StringComparison.Ordinal));
        Assert.Contains("gpt2 2×2, d_model 8", gpt2Row.Output);
        Assert.Contains("llama 5×8, d_model 64", Assert.Single(results, r => r.DisplayName.EndsWith("(circuit: name-copy-empty)", StringComparison.Ordinal)).Output);
    }

    [Fact]
    public void AMissingModelPathSkipsTheRowNamingTheFileAndTheTestSideFixes()
    {
        using var dir = new TempFolder();
        using var env = new EnvironmentScope().Set(ModelLocator.ModelVariable, null).Set(BuildFacts.StrictVariable, null);
        WriteRandomGpt2(Path.Combine(dir.Path, "gpt2-random"));
        string claim = dir.Write("c/swap.json", Gpt2Circuit(Path.Combine(dir.Path, "gpt2-random"), "../not-here").ToJson());
        var row = CircuitCase.ForFile(claim);

        Assert.Equal(Path.Combine(dir.Path, "not-here"), row.ModelPath);
        Assert.Equal($"model not found: {Path.Combine(dir.Path, "not-here")} (model.path \"../not-here\" in {claim}). Put the model there, correct model.path in the " +
                     "circuit file, or set Model = \"…\" on [CircuitFiles]; strict mode (MECHTESTS_STRICT=1 or MechTestsStrict=true) fails instead of skipping.",
            row.ModelMissingReason);
    }

    [Fact]
    public void ACircuitRunOnAnotherModelFailsWithTestSideAdvice()
    {
        using var dir = new TempFolder();
        WriteRandomGpt2(Path.Combine(dir.Path, "gpt2-random"));
        // The file says the embedded stories260K is its model (model.path absent) but it is a GPT-2 circuit.
        string claim = dir.Write("swap.json", Gpt2Circuit(Path.Combine(dir.Path, "gpt2-random"), "").ToJson());

        var e = Assert.Throws<ModelMismatchException>(() => CircuitCase.ForFile(claim).Verify(new RecordingOutput(), Accepting));

        Assert.Contains("this circuit belongs to another model (architecture: circuit has gpt2", e.Message);
        Assert.EndsWith(CircuitVerification.TestModelAdvice, e.Message);
        Assert.DoesNotContain("--model", e.Message);
    }
}
