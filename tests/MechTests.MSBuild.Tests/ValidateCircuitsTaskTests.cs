using System.Collections;
using MechTests.Circuits;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Xunit;

namespace MechTests.MSBuild.Tests;

/// <summary>
/// The ValidateCircuits task run directly on a fake build engine: a valid circuit file passes; each class of broken
/// file is one error with its code, the file, and the line and column of the wrong token in the text written.
/// </summary>
public sealed class ValidateCircuitsTaskTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mechtests-task-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (bool Result, ValidateCircuits Task, FakeBuildEngine Engine) Run(params string[] files)
    {
        var engine = new FakeBuildEngine();
        var task = new ValidateCircuits { BuildEngine = engine, Files = [.. files.Select(f => new TaskItem(f))] };
        return (task.Execute(), task, engine);
    }

    public static TheoryData<string> BrokenNames() => [.. CircuitText.AllBroken().Select(b => b.Name)];

    [Fact]
    public void TheValidFileIsThePlantedCircuitAndPasses()
    {
        // The fixture is what it claims: the planted induction circuit, as the core writes it.
        var parsed = CircuitFile.Parse(CircuitText.Valid);
        Assert.Equal(CircuitText.Model.CircuitEdges.Order(StringComparer.Ordinal), parsed.Circuit.Edges.Select(e => e.Name).Order(StringComparer.Ordinal));

        string path = Write("good.json", CircuitText.Valid);
        var (ok, task, engine) = Run(path);
        Assert.True(ok);
        Assert.Empty(engine.Errors);
        Assert.Empty(engine.Warnings);
        Assert.Equal([path], task.ValidFiles.Select(i => i.ItemSpec));
        Assert.Contains(engine.Messages, m => m.Message == "MechTests: checked 1 circuit file(s); 0 with errors.");
    }

    [Fact]
    public void AFileWithRoleClaimsPasses()
    {
        Assert.Equal(2, CircuitFile.Parse(CircuitText.WithRoles).Roles.Count);
        string path = Write("roles.json", CircuitText.WithRoles);
        var (ok, task, engine) = Run(path);
        Assert.True(ok);
        Assert.Empty(engine.Errors);
        Assert.Equal([path], task.ValidFiles.Select(i => i.ItemSpec));
    }

    [Theory]
    [MemberData(nameof(BrokenNames))]
    public void EachBrokenFileIsOneErrorWithItsCodeFileLineAndColumn(string name)
    {
        var broken = CircuitText.AllBroken().Single(b => b.Name == name);
        string path = Write(name + ".json", broken.Text);
        var (ok, task, engine) = Run(path);

        Assert.False(ok);
        Assert.Empty(task.ValidFiles);
        var e = Assert.Single(engine.Errors);
        Assert.Equal(broken.Code, e.Code);
        Assert.Equal(path, e.File);
        Assert.Equal((broken.Line, broken.Column), (e.LineNumber, e.ColumnNumber));
        Assert.Contains(broken.Mentions, e.Message);
        // The same problem as the core reader reports, at the same place: the task adds no location of its own.
        var ex = Assert.Throws<CircuitFormatException>(() => CircuitFile.Read(path));
        Assert.Equal((ex.Code, ex.Line, ex.Column), (e.Code, e.LineNumber, e.ColumnNumber));
    }

    /// <summary>
    /// Issue 19: a stated shape no supported model has (2^31−1 layers) used to build the graph first and end the
    /// build in OutOfMemoryException or MSB4181 naming no file; now it is MECH0107 at the value, immediately.
    /// </summary>
    [Fact]
    public void AnImpossibleModelShapeIsALocatedErrorNotAnOutOfMemoryBuild()
    {
        var parsed = System.Text.Json.Nodes.JsonNode.Parse(CircuitText.Valid)!;
        parsed["model"]!["nLayers"] = int.MaxValue;
        string path = Write("huge.json", parsed.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var (ok, _, engine) = Run(path);
        Assert.False(ok);
        var e = Assert.Single(engine.Errors);
        Assert.Equal(CircuitFormatException.InvalidValueCode, e.Code);
        Assert.Equal(path, e.File);
        Assert.True(e.LineNumber > 0);
        Assert.Equal("model.nLayers: 2147483647 is more than any supported model has (at most 1024).", e.Message);
    }

    [Fact]
    public void OneRunReportsEveryBrokenFileAndKeepsTheValidOnes()
    {
        var broken = CircuitText.AllBroken();
        string good = Write("good.json", CircuitText.Valid);
        var paths = broken.Select(b => Write(b.Name + ".json", b.Text)).ToList();
        var (ok, task, engine) = Run([good, .. paths, Write("good2.json", CircuitText.Valid)]);

        Assert.False(ok);
        Assert.Equal(paths, engine.Errors.Select(e => e.File));
        Assert.Equal(broken.Select(b => b.Code), engine.Errors.Select(e => e.Code));
        Assert.Equal([good, Path.Combine(_dir, "good2.json")], task.ValidFiles.Select(i => i.ItemSpec));
        Assert.Contains(engine.Messages, m => m.Message == $"MechTests: checked {broken.Count + 2} circuit file(s); {broken.Count} with errors.");
    }

    [Fact]
    public void AMissingFileIsAnUnreadableErrorNamingIt()
    {
        string path = Path.Combine(_dir, "missing.json");
        var (ok, _, engine) = Run(path);
        Assert.False(ok);
        var e = Assert.Single(engine.Errors);
        Assert.Equal(CircuitFormatException.UnreadableCode, e.Code);
        Assert.Equal(path, e.File);
        Assert.Equal((0, 0), (e.LineNumber, e.ColumnNumber));
        Assert.StartsWith("cannot read the circuit file: ", e.Message);
    }

    [Fact]
    public void AnEmptyFileIsInvalidJson()
    {
        string path = Write("empty.json", "");
        var (ok, _, engine) = Run(path);
        Assert.False(ok);
        Assert.Equal(CircuitFormatException.InvalidJsonCode, Assert.Single(engine.Errors).Code);
    }
}

/// <summary>An <see cref="IBuildEngine"/> that records what a task logs.</summary>
internal sealed class FakeBuildEngine : IBuildEngine
{
    public List<BuildErrorEventArgs> Errors { get; } = [];
    public List<BuildWarningEventArgs> Warnings { get; } = [];
    public List<BuildMessageEventArgs> Messages { get; } = [];

    public bool ContinueOnError => false;
    public int LineNumberOfTaskNode => 0;
    public int ColumnNumberOfTaskNode => 0;
    public string ProjectFileOfTaskNode => "fake.csproj";

    public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e);
    public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e);
    public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e);
    public void LogCustomEvent(CustomBuildEventArgs e) { }

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs)
        => throw new NotSupportedException();
}
