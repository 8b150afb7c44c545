using System.Text.RegularExpressions;
using MechTests.Circuits;
using Xunit;

namespace MechTests.MSBuild.Tests;

public class TargetsFileTests
{
    [Fact]
    public void TheTargetsDetectCiWithTheSameVariablesAsTheSnapshotEngine()
    {
        string targets = File.ReadAllText(Path.Combine(DotnetBuild.RepoRoot, "src", "MechTests.MSBuild", "build", "MechTests.targets"));
        var inTargets = Regex.Matches(targets, @"<_MechTestsCISignal Condition=""'\$\(_MechTestsCISignal\)' == '' and '\$\((\w+)\)' != ''")
            .Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Equal(SnapshotSettings.BuildServerVariables.Where(v => v != "CI").ToHashSet(), inTargets);
        Assert.Contains("'$(CI)' == 'true'", targets);
    }
}
