// Test classes run only through InProcessRunner: they are internal, so the outer run (which discovers exported
// types) never sees them, and their folders come from variables each scenario sets for itself.
#pragma warning disable xUnit1000 // Test classes must be public
using System.Collections.Concurrent;
using Xunit;
using Xunit.Abstractions;

namespace MechTests.Xunit.Tests.Samples;

internal static class Ran
{
    public static ConcurrentQueue<string> Bodies { get; } = new();
}

internal sealed class RowsSample(ITestOutputHelper output)
{
    public const string Folder = "MECHTESTS_XT_ROWS";

    [CircuitTheory, CircuitFiles("%MECHTESTS_XT_ROWS%")]
    public void Row(CircuitCase circuit)
    {
        Ran.Bodies.Enqueue("rows:" + circuit.Name);
        output.WriteLine($"{circuit.Name}: {circuit.Read().Circuit.Edges.Count} edges");
    }
}

internal sealed class MissingModelSample
{
    public const string Folder = "MECHTESTS_XT_MISSING";
    public const string MissingModel = "no-such-model/model.bin";

    [CircuitTheory, CircuitFiles("%MECHTESTS_XT_MISSING%", Model = "%MECHTESTS_XT_MISSING%/no-such-model/model.bin")]
    public void Row(CircuitCase circuit) => Ran.Bodies.Enqueue("missing:" + circuit.Name);

    [CircuitFact(Model = "%MECHTESTS_XT_MISSING%/no-such-model/model.bin")]
    public void FactOnMissingModel() => Ran.Bodies.Enqueue("missing:fact");

    [CircuitFact]
    public void FactOnDefaultModel() => Ran.Bodies.Enqueue("missing:default-fact");
}

internal sealed class NoFolderSample
{
    public const string Folder = "MECHTESTS_XT_NOFOLDER";

    [CircuitTheory, CircuitFiles("%MECHTESTS_XT_NOFOLDER%/circuits")]
    public void Row(CircuitCase circuit) => Ran.Bodies.Enqueue("nofolder:" + circuit.Name);
}

internal sealed class VerifySample(ITestOutputHelper output)
{
    public const string Folder = "MECHTESTS_XT_VERIFY";

    [CircuitTheory, CircuitFiles("%MECHTESTS_XT_VERIFY%")]
    public void Holds(CircuitCase circuit) => circuit.Verify(output);
}

internal sealed class ClassFixtureSample(ModelFixture models) : IClassFixture<ModelFixture>
{
    [CircuitFact]
    public void SeesTheDefaultModel() => Assert.Same(ModelCache.Shared.Get(MechTests.Models.EmbeddedModels.Stories260KPath), models.Default);
}

[Collection(ModelsCollection.Name)]
internal sealed class CollectionFixtureSample(ModelFixture models)
{
    [CircuitFact]
    public void SeesTheDefaultModel() => Assert.Same(ModelCache.Shared.Get(MechTests.Models.EmbeddedModels.Stories260KPath), models.Default);
}
