using System.Text.RegularExpressions;
using MechTests.Circuits;
using Xunit;

namespace MechTests.MSBuild.Tests;

/// <summary>
/// MechTests.props/.targets in a real `dotnet build` of a throwaway project (no package references, offline):
/// located, coded errors for every broken circuit file in one build; an up-to-date build that skips validation;
/// accept baked in, and refused on CI. Trait Category=Integration (about 15 s together).
/// </summary>
[Trait("Category", "Integration")]
public sealed class IntegrationTests : IDisposable
{
    private readonly string _project = DotnetBuild.CreateProject("it");

    public void Dispose() => Directory.Delete(_project, true);

    private string Circuits => Path.Combine(_project, "circuits");

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(Circuits, name), text);

    [Fact]
    public void EveryBrokenCircuitFileFailsTheBuildAtItsLineAndColumnWithItsCode()
    {
        Write("good.json", CircuitText.Valid);
        var broken = CircuitText.AllBroken();
        foreach (var b in broken) Write(b.Name + ".json", b.Text);

        var (code, output) = DotnetBuild.Run(_project);
        Assert.NotEqual(0, code);
        foreach (var b in broken)
        {
            // The canonical MSBuild form, with the file's full path as for compiler errors: …/circuits/x.json(line,col): error MECH01xx: message
            string file = Path.Combine(Circuits, b.Name + ".json");
            var m = Regex.Match(output, $@"(?m)^\s*{Regex.Escape(file)}\((\d+),(\d+)\): error ({b.Code}): (.*)$");
            Assert.True(m.Success, $"no located {b.Code} for {file} in:\n{output}");
            Assert.Equal((b.Line, b.Column), (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value)));
            Assert.Contains(b.Mentions, m.Groups[4].Value);
        }
        Assert.DoesNotContain("good.json(", output);
        // One error per broken file, no more (each file stops at its first problem).
        Assert.Equal(broken.Count, Regex.Matches(output, @"(?m)^\s*(\S+)\(\d+,\d+\): error MECH01\d\d: .*$").Select(x => x.Value.Trim()).Distinct().Count());
        // A failed check writes no stamp, so the next build checks again.
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_project, "obj"), "MechTests.circuits.stamp", SearchOption.AllDirectories));
    }

    [Fact]
    public void AValidFolderBuildsAndASecondBuildSkipsTheCheck()
    {
        Write("good.json", CircuitText.Valid);
        var (code, output) = DotnetBuild.Run(_project, null, "-v:n");
        Assert.True(code == 0, output);
        Assert.Contains("MechTests: checked 1 circuit file(s); 0 with errors.", output);

        (code, output) = DotnetBuild.Run(_project, null, "-v:d");
        Assert.True(code == 0, output);
        Assert.Contains("Skipping target \"MechTestsValidateCircuits\" because all output files are up-to-date", output);
        Assert.DoesNotContain("MechTests: checked", output);

        // A changed circuit file makes it run again.
        File.SetLastWriteTimeUtc(Path.Combine(Circuits, "good.json"), DateTime.UtcNow.AddSeconds(2));
        (code, output) = DotnetBuild.Run(_project, null, "-v:n");
        Assert.True(code == 0, output);
        Assert.Contains("MechTests: checked 1 circuit file(s); 0 with errors.", output);
    }

    [Fact]
    public void AcceptIsBakedLocallyAndRefusedWithAWarningOnCi()
    {
        Write("good.json", CircuitText.Valid);
        var (code, output) = DotnetBuild.Run(_project, new Dictionary<string, string> { ["CI"] = "true" }, "-p:MechTestsAccept=true", "-p:MechTestsStrict=true");
        Assert.True(code == 0, output);
        Assert.Matches(@"warning MECH0002: MechTestsAccept=true is ignored on CI \(CI is set\)", output);
        var facts = DotnetBuild.BakedFacts(_project);
        Assert.False(facts.Accept);
        Assert.False(facts.AcceptOnCi);
        Assert.True(facts.Strict);
        Assert.Equal(Circuits, facts.CircuitsDirectory);
        Assert.Equal(_project, facts.ProjectDirectory);

        // A build-server variable is a CI signal too; MechTestsAcceptOnCI=true lets the accept through.
        (code, output) = DotnetBuild.Run(_project, new Dictionary<string, string> { ["GITHUB_ACTIONS"] = "true" }, "-p:MechTestsAccept=true", "-p:MechTestsAcceptOnCI=true");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("MECH0002", output);
        facts = DotnetBuild.BakedFacts(_project);
        Assert.True(facts.Accept);
        Assert.True(facts.AcceptOnCi);
        Assert.False(facts.Strict);

        // Not on CI (Run removes CI and every build-server variable from the child's environment): baked true.
        (code, output) = DotnetBuild.Run(_project, null, "-p:MechTestsAccept=true");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("MECH0002", output);
        facts = DotnetBuild.BakedFacts(_project);
        Assert.True(facts.Accept);
        Assert.False(facts.AcceptOnCi);

        // Nothing asked: false.
        (code, output) = DotnetBuild.Run(_project);
        Assert.True(code == 0, output);
        Assert.False(DotnetBuild.BakedFacts(_project).Accept);
    }
}
