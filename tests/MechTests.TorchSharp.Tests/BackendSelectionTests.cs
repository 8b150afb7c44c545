using MechTests.Models;
using MechTests.TorchSharp.Backend;

namespace MechTests.TorchSharp.Tests;

/// <summary>Item 4/8: selecting the backend by name finds the TorchSharp package; bad selections say what to do.</summary>
public class BackendSelectionTests
{
    [Fact]
    public void TorchSharpIsFoundByNameAndByTheMSBuildProperty()
    {
        var model = Equivalence.Load("stories260K");
        using var torch = Assert.IsType<TorchSharpBackend>(ModelBackends.Create(model, "torchsharp", "cpu"));
        Assert.IsType<Transformer>(ModelBackends.Create(model, "managed"));
        // This project sets <MechTestsBackend>torchsharp</MechTestsBackend>; the environment variable would win.
        if (Environment.GetEnvironmentVariable(ModelBackends.BackendVariable) is not { Length: > 0 })
        {
            Assert.Equal("torchsharp", ModelBackends.Default);
            using var byDefault = Assert.IsType<TorchSharpBackend>(ModelBackends.Create(model));
        }
    }

    [Fact]
    public void BadSelectionsNameWhatIsWrong()
    {
        var model = Equivalence.Load("stories260K");
        var name = Assert.Throws<ArgumentException>(() => ModelBackends.Create(model, "torch"));
        Assert.Contains("expected managed or torchsharp", name.Message);
        var managedGpu = Assert.Throws<ArgumentException>(() => ModelBackends.Create(model, "managed", "cuda"));
        Assert.Contains("--backend torchsharp", managedGpu.Message);
        if (global::TorchSharp.torch.cuda.is_available()) return;
        var cuda = Assert.Throws<InvalidOperationException>(() => ModelBackends.Create(model, "torchsharp", "cuda:1"));
        Assert.Contains("CUDA is not available", cuda.Message);
    }
}
