using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using MechTests.TorchSharp.Backend;
namespace MechTests.TorchSharp.Tests;
/// <summary>The C# snippet of src/MechTests.TorchSharp/README.md, as written (run from the repository root).</summary>
public class ReadmeSnippetCheck
{
    [Fact]
    public void PackageReadmeSnippetRuns()
    {
        Directory.SetCurrentDirectory(Equivalence.RepoRoot());
        var model = EmbeddedModels.LoadStories260K();
        using var backend = TorchSharpBackend.Load(model, new TorchSharpOptions { Device = "cpu", CpuThreads = 1 });
        var task = MechTask.Load("tasks/name-copy.json", model.Tokenizer, model.Config.VocabSize);
        using var runs = TaskRuns.Create(backend, task);   // patching, AtP*, EAP, circuits: all on libtorch
        Assert.NotEmpty(runs.Batches);
    }
}
