using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MechTests.Models.Loading;
using MechTests.Training;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests train --recipe induction|induction-control|greater-than --out models/X [--seed N] [--steps N]</c>:
/// trains a small GPT-2 from scratch and writes a Hugging Face folder (config.json, model.safetensors, vocab.json,
/// merges.txt) plus training.json with the recipe, seed, command, GEMM kernel family and losses. Re-running it reproduces
/// model.safetensors bit for bit on the same GEMM kernel family (src/MechTests/Tensors/Gemm.cs: AVX-512, AVX2 and the
/// portable kernel round differently) and .NET version; another family trains a slightly different model.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var recipe = new Option<string>("--recipe") { Description = $"One of: {string.Join(", ", TrainingRecipes.Names)}.", Required = true };
        recipe.AcceptOnlyFromAmong([.. TrainingRecipes.Names]);
        var output = new Option<string>("--out") { Description = "The model folder to write: created, or overwritten when it holds only the files train writes (anything else is refused).", Required = true };
        var seed = new Option<int>("--seed") { Description = "Seeds the initialisation (seed) and the data (seed + 1).", DefaultValueFactory = _ => 0 };
        var steps = new Option<int?>("--steps") { Description = "Optimiser steps (default: the recipe's)." };
        steps.Validators.Add(v =>
        {
            if (v.GetValueOrDefault<int?>() is int s && s < 1) v.AddError($"--steps must be at least 1, got {s}.");
        });
        var cmd = new Command("train", "Train a small GPT-2 from scratch on a task with a known mechanism; writes a Hugging Face folder.") { recipe, output, seed, steps };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var rec = TrainingRecipes.Get(r.GetValue(recipe)!);
            string folder = r.GetValue(output)!;
            int s = r.GetValue(seed);
            var options = r.GetValue(steps) is int n ? rec.Options with { Steps = n } : rec.Options;
            // A destination that cannot be written fails now, not after minutes of training.
            if (File.Exists(folder)) throw new IOException($"--out '{folder}' is a file; expected a folder.");
            RefuseForeignFiles(folder);
            Directory.CreateDirectory(folder);
            AtomicFile.CheckWritable(Path.Combine(folder, "model.safetensors"), "--out");
            // Bit-reproducible only on the same GEMM kernel family (src/MechTests/Tensors/Gemm.cs), so the file says which.
            var kernel = Tensors.Gemm.ActiveKernel;
            var clock = Stopwatch.StartNew();
            int every = Math.Max(1, options.Steps / 20);
            var result = Trainer.Train(rec.Config, rec.Sample, options, s, (step, loss) =>
            {
                if (step % every == 0 || step == options.Steps)
                    Console.Error.WriteLine($"step {step}/{options.Steps}  loss {loss.ToString("F4", CultureInfo.InvariantCulture)}  {clock.Elapsed.TotalSeconds:F0} s");
            });
            HuggingFaceWriter.WriteGpt2(folder, rec.Config, result.Weights);
            rec.Vocabulary.Write(folder);
            WriteTrainingJson(Path.Combine(folder, "training.json"), rec, options, s, result.Losses, Command(rec.Name, folder, s, r.GetValue(steps)), kernel);
            Console.Out.WriteLine($"{folder}: {rec.Name}, seed {s}, {options.Steps} steps, final loss {FinalLoss(result.Losses).ToString("F4", CultureInfo.InvariantCulture)} " +
                                  $"(mean of the last {Math.Min(100, result.Losses.Count)} steps), {clock.Elapsed.TotalSeconds:F0} s");
            return 0;
        }));
        return cmd;
    }

    /// <summary>The files train writes; a folder holding only these (a previous train's output) is overwritten.</summary>
    internal static readonly string[] OwnFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt", "training.json"];

    // A file train does not write would survive into the new model and could win (the tokenizer loader prefers
    // tokenizer.json over vocab.json/merges.txt), so a folder with anything else in it is refused, not mixed.
    private static void RefuseForeignFiles(string folder)
    {
        if (!Directory.Exists(folder)) return;
        var foreign = Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).OfType<string>()
            .Where(name => !OwnFiles.Contains(name, StringComparer.Ordinal) && !IsOwnTemp(name))
            .Order(StringComparer.Ordinal).ToList();
        if (foreign.Count > 0)
            throw new IOException($"--out '{folder}' holds {(foreign.Count == 1 ? "a file" : "files")} train does not write ({string.Join(", ", foreign.Take(10))}" +
                                  $"{(foreign.Count > 10 ? $", … {foreign.Count - 10} more" : "")}), which would be mixed with the new model; " +
                                  $"choose an empty or new folder (train overwrites only a folder holding {string.Join(", ", OwnFiles)}).");
    }

    // .NAME.PID.GUID.tmp left by a killed atomic write of one of train's files; the next write removes it.
    private static bool IsOwnTemp(string name)
        => name.StartsWith('.') && name.EndsWith(".tmp", StringComparison.Ordinal) && OwnFiles.Any(f => name.StartsWith($".{f}.", StringComparison.Ordinal));

    private static string Command(string recipe, string folder, int seed, int? steps)
        => $"mechtests train --recipe {recipe} --out {folder.Replace('\\', '/')} --seed {seed}" + (steps is int n ? $" --steps {n}" : "");

    private static double FinalLoss(IReadOnlyList<double> losses) => losses.Count == 0 ? double.NaN : losses.TakeLast(100).Average();

    private static void WriteTrainingJson(string path, TrainingRecipe rec, TrainOptions options, int seed, IReadOnlyList<double> losses, string command, Tensors.GemmKernel kernel)
    {
        AtomicFile.Write(path, stream => WriteTrainingJson(stream, rec, options, seed, losses, command, kernel));
    }

    private static void WriteTrainingJson(Stream stream, TrainingRecipe rec, TrainOptions options, int seed, IReadOnlyList<double> losses, string command, Tensors.GemmKernel kernel)
    {
        static double R(double x) => Math.Round(x, 4, MidpointRounding.ToEven);
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("recipe", rec.Name);
            w.WriteString("command", command);
            w.WriteNumber("seed", seed);
            w.WriteString("data", rec.DataRecipe);
            w.WriteString("init", "GPT-2: N(0, 0.02²) projections and token embeddings, N(0, 0.01²) positions, output projections N(0, (0.02/√(2·n_layer))²), biases 0, norm weights 1; data drawn with System.Random(seed + 1)");
            w.WriteStartObject("optimizer");
            w.WriteString("name", "adam");
            w.WriteNumber("steps", options.Steps);
            w.WriteNumber("batch_size", options.BatchSize);
            w.WriteNumber("learning_rate", (double)(decimal)options.LearningRate);
            w.WriteNumber("warmup_steps", options.WarmupSteps);
            w.WriteNumber("beta1", (double)(decimal)options.Beta1);
            w.WriteNumber("beta2", (double)(decimal)options.Beta2);
            w.WriteNumber("epsilon", (double)(decimal)options.Epsilon);
            w.WriteEndObject();
            w.WriteString("gemm_kernel", kernel.ToString().ToLowerInvariant());
            w.WriteStartObject("loss");
            w.WriteNumber("first_step", R(losses.Count > 0 ? losses[0] : double.NaN));
            w.WriteNumber("last_100_mean", R(FinalLoss(losses)));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
    }
}
