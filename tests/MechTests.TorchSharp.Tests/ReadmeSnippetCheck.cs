using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using MechTests.TorchSharp.Backend;
namespace MechTests.TorchSharp.Tests;
/// <summary>
/// The C# snippet of src/MechTests.TorchSharp/README.md, as written (run from the repository root). It changes the
/// process's current folder, so it runs alone and puts the folder back.
/// </summary>
[Collection(nameof(CurrentDirectoryCollection))]
public class ReadmeSnippetCheck
{
    [Fact]
    public void PackageReadmeSnippetRuns()
    {
        string before = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(Equivalence.RepoRoot());
        try
        {
            var model = EmbeddedModels.LoadStories260K();
            using var backend = TorchSharpBackend.Load(model, new TorchSharpOptions { Device = "cpu", CpuThreads = 1 });
            var task = MechTask.Load("tasks/name-copy.json", model.Tokenizer, model.Config.VocabSize);
            using var runs = TaskRuns.Create(backend, task);   // patching, AtP*, EAP, circuits: all on libtorch
            Assert.NotEmpty(runs.Batches);
        }
        finally
        {
            Directory.SetCurrentDirectory(before);
        }
    }
}

/// <summary>Tests that change the process-wide current folder: not beside any other test.</summary>
[CollectionDefinition(nameof(CurrentDirectoryCollection), DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;
