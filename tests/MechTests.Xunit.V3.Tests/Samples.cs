// Test classes run only through InProcessRunner: they are internal, so the outer run (which discovers exported
// types) never sees them, and their folders come from variables each scenario sets for itself.
#pragma warning disable xUnit1000 // Test classes must be public
using System.Collections.Concurrent;
using Xunit;

namespace MechTests.Xunit.V3.Tests.Samples;

internal static class Ran
{
    public static ConcurrentQueue<string> Bodies { get; } = new();
}

internal sealed class RowsSample(ITestOutputHelper output)
{
    public const string Folder = "MECHTESTS_XT3_ROWS";

    [CircuitTheory, CircuitFiles("%MECHTESTS_XT3_ROWS%")]
    public void Row(CircuitCase circuit)
    {
        Ran.Bodies.Enqueue("rows:" + circuit.Name);
        output.WriteLine($"{circuit.Name}: {circuit.Read().Circuit.Edges.Count} edges");
    }
}

internal sealed class MissingModelSample
{
    public const string Folder = "MECHTESTS_XT3_MISSING";

    [CircuitTheory, CircuitFiles("%MECHTESTS_XT3_MISSING%", Model = "%MECHTESTS_XT3_MISSING%/no-such-model/model.bin")]
    public void Row(CircuitCase circuit) => Ran.Bodies.Enqueue("missing:" + circuit.Name);

    [CircuitFact(Model = "%MECHTESTS_XT3_MISSING%/no-such-model/model.bin")]
    public void FactOnMissingModel() => Ran.Bodies.Enqueue("missing:fact");

    [CircuitFact]
    public void FactOnDefaultModel() => Ran.Bodies.Enqueue("missing:default-fact");

    // A plain theory: on xUnit v3, Verify itself skips when the model is missing (there is no v2 equivalent).
    [Theory, CircuitFiles("%MECHTESTS_XT3_MISSING%/claim.json", Model = "%MECHTESTS_XT3_MISSING%/no-such-model/model.bin")]
    public void PlainTheory(CircuitCase circuit)
    {
        circuit.Verify();
        Ran.Bodies.Enqueue("missing:plain-after-verify");
    }

    // The same on a malformed file: Verify reads it before it looks for the model, so the parse error wins over the skip.
    [Theory, CircuitFiles("%MECHTESTS_XT3_MISSING%/broken.json", Model = "%MECHTESTS_XT3_MISSING%/no-such-model/model.bin")]
    public void PlainTheoryOnBroken(CircuitCase circuit)
    {
        circuit.Verify();
        Ran.Bodies.Enqueue("missing:plain-broken-after-verify");
    }
}

internal sealed class NoFolderSample
{
    public const string Folder = "MECHTESTS_XT3_NOFOLDER";

    [CircuitTheory, CircuitFiles("%MECHTESTS_XT3_NOFOLDER%/circuits")]
    public void Row(CircuitCase circuit) => Ran.Bodies.Enqueue("nofolder:" + circuit.Name);
}

internal sealed class VerifySample(ITestOutputHelper output)
{
    public const string Folder = "MECHTESTS_XT3_VERIFY";

    [CircuitTheory, CircuitFiles("%MECHTESTS_XT3_VERIFY%")]
    public void Holds(CircuitCase circuit) => circuit.Verify(output);
}

// No ITestOutputHelper anywhere: the figures go to the running test's output through TestContext.
internal sealed class ContextOutputSample
{
    [CircuitTheory, CircuitFiles("%MECHTESTS_XT3_VERIFY%")]
    public void Holds(CircuitCase circuit) => circuit.Verify();
}

// ModelFixture without IClassFixture: the assembly fixture the package's buildTransitive registers.
internal sealed class AssemblyFixtureSample(ModelFixture models)
{
    [CircuitFact]
    public void SeesTheDefaultModel() => Assert.Same(ModelCache.Shared.Get(MechTests.Models.EmbeddedModels.Stories260KPath), models.Default);
}

internal sealed class ClassFixtureSample(ModelFixture models) : IClassFixture<ModelFixture>
{
    [CircuitFact]
    public void SeesTheDefaultModel() => Assert.Same(ModelCache.Shared.Get(MechTests.Models.EmbeddedModels.Stories260KPath), models.Default);
}
