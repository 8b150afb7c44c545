namespace MechTests.Examples.TorchSharp;

/// <summary>
/// The offline step of the TorchSharp example, run once:
/// <c>dotnet run --project tests/MechTests.Examples -c Release -- train-torchsharp-induction</c> trains
/// <see cref="TinyGpt"/> with the recipe of <see cref="InductionTraining"/> and writes models/torchsharp-induction/
/// and tasks/torchsharp-induction.json. (The test host does not use this entry point.)
/// </summary>
public static class TrainProgram
{
    /// <summary>The entry point of <c>dotnet run</c>.</summary>
    public static int Main(string[] args)
    {
        if (args is not ["train-torchsharp-induction"])
        {
            Console.Error.WriteLine("usage: dotnet run --project tests/MechTests.Examples -c Release -- train-torchsharp-induction");
            return 2;
        }
        global::TorchSharp.torch.set_num_threads(1);
        using var model = new TinyGpt(InductionTraining.Config);
        var result = InductionTraining.Train(model, TorchSharpInductionExamples.FullSteps, TorchSharpInductionExamples.LearningRate,
            TorchSharpInductionExamples.TrainingSeed, progress: (step, loss) => { if (step % 500 == 0) Console.WriteLine($"step {step}: loss {loss:F4}"); });
        Console.WriteLine($"{result.Steps} steps in {result.Elapsed.TotalSeconds:F1} s: loss {result.FirstLoss:F4} -> {result.LastLoss:F4} (means of the first and last 20 steps)");
        model.SaveHuggingFace(Repo.Path("models/torchsharp-induction"));
        File.WriteAllText(Repo.Path("tasks/torchsharp-induction.json"), InductionTraining.TaskJson(pairs: 8, seed: 7));
        Console.WriteLine("wrote models/torchsharp-induction/ and tasks/torchsharp-induction.json");
        return 0;
    }
}
