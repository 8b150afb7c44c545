using FluentAssertions;
using FluentAssertions.Execution;
using MechTests.Attribution;
using MechTests.Circuits;
using MechTests.FluentAssertions;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;
using MechTests.Xunit;
using Xunit;
using Xunit.Abstractions;
using static MechTests.FluentAssertions.ModelComponents;

namespace MechTests.Examples;

/// <summary>
/// Use 1 — circuit claims asserted in <c>dotnet test</c>, on the circuits checked in under circuits/ and the embedded
/// stories260K. The folder comes from the build (<c>$(MechTestsCircuitsDirectory)</c>, via MechTests.props/.targets).
/// </summary>
public class CircuitClaimExamples(ITestOutputHelper output)
{
    /// <summary>Every checked-in circuit re-derives to its verified snapshot (one row per file; figures in the output).</summary>
    [CircuitTheory, CircuitFiles]
    public void EveryCheckedInClaimReDerivesToItsSnapshot(CircuitCase circuit) => circuit.Verify(output);

    /// <summary>The name-copy claim in words: faithful (≥ 0.85), the behaviour is there, and AtP* agrees with patching.</summary>
    [CircuitFact]
    public void NameCopyIsCarriedByItsCircuitAndAtPStarAgreesWithPatchingOnIt()
    {
        var model = ModelCache.Shared.Get(EmbeddedModels.Stories260KPath);
        var claim = CircuitFile.Read(Repo.Path("circuits/name-copy.json"));
        var runs = TaskRuns.Create(new Transformer(model.Config, model.Weights), MechTask.Load(Repo.Path("tasks/name-copy.json"), model.Tokenizer, model.Config.VocabSize));
        using (new AssertionScope())
        {
            claim.Should().PerformTheRecordedTask(model, keepingAtLeast: 0.9);
            claim.Circuit.Should().BeFaithful(runs, atLeast: 0.85);
            // Node-level AtP* against exhaustive node patching (both signed means over the 5 pairs of the task).
            var nodes = NodeSets.Build(model.Config, NodeGranularity.Component);
            NodeAttribution.AtPStar(runs, nodes).Should().AgreeWithActivationPatching(runs, spearmanAtLeast: 0.8, topKRecallAtLeast: 0.8, topK: 5);
        }
    }

    /// <summary>
    /// What the name mover does: a2.h6 looks from the last position back at the introduced name and writes it to the
    /// logits (direct logit attribution, final-norm scale frozen from the clean run; docs/semantics.md).
    /// </summary>
    [CircuitFact]
    public void TheNameMoverAttendsToTheNameAndWritesIt()
    {
        var model = ModelCache.Shared.Get(EmbeddedModels.Stories260KPath);
        var engine = new Transformer(model.Config, model.Weights);
        using var runs = TaskRuns.Create(engine, MechTask.Load(Repo.Path("tasks/name-copy.json"), model.Tokenizer, model.Config.VocabSize));
        var prompts = runs.Task.Pairs.Select(p => p.Clean).ToArray();
        var namePositions = runs.Task.Pairs.Select(p => Array.IndexOf(p.Clean, p.Correct[0])).ToArray();
        using (new AssertionScope())
        {
            Head("a2.h6").Should().AttendToPosition(engine, prompts, namePositions, atLeast: 0.6, positionName: "the name");
            Component("a2.h6").Should().PromoteTheAnswer(runs, atLeast: 1.0);
            Component("a4.h2").Should().SuppressTheAnswer(runs, atLeast: 0.3);
            // The same roles, recorded in the circuit file (its "roles" section) and measured on its own task.
            CircuitFile.Read(Repo.Path("circuits/name-copy.json")).Should().HaveItsRolesHold(model);
        }
    }
}
