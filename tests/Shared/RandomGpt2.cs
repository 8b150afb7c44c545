using System.Text.Json;
using MechTests.Circuits;
using MechTests.Models.Loading;
using MechTests.Tasks;

// Linked into the test projects that need a second, non-embedded model (EndToEnd, Xunit); kept once here.
namespace MechTests.TestModels;

/// <summary>A second model for the consumer: a seeded random GPT-2 Hugging Face folder and a small circuit of it.</summary>
internal static class RandomGpt2
{
    /// <summary>Writes a random GPT-2 (2 layers × 2 heads, d = 8, vocabulary 11, no tokenizer) to <paramref name="folder"/>.</summary>
    public static string Write(string folder, int seed = 7)
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

    /// <summary>A top-5 EAP circuit of the model on an inline two-pair task, naming its model by <paramref name="modelPath"/>.</summary>
    public static CircuitFile Circuit(string modelFolder, string modelPath)
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
}
