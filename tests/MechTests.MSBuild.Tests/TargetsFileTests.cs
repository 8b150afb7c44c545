using System.Reflection;
using System.Text.RegularExpressions;
using MechTests.Circuits;
using Xunit;

namespace MechTests.MSBuild.Tests;

/// <summary>What the MSBuild files and docs state by hand, kept equal to the code they mirror.</summary>
public class TargetsFileTests
{
    private static string Read(params string[] parts) => File.ReadAllText(Path.Combine([DotnetBuild.RepoRoot, .. parts]));

    [Fact]
    public void TheTargetsDetectCiWithTheSameVariablesAsTheSnapshotEngine()
    {
        string targets = Read("src", "MechTests.MSBuild", "build", "MechTests.targets");
        // Same semantics as SnapshotSettings.DetectCi: set and not "false" (the backreference ties both tests to one name).
        var inTargets = Regex.Matches(targets, @"<_MechTestsCISignal Condition=""'\$\(_MechTestsCISignal\)' == '' and '\$\((\w+)\)' != '' and '\$\(\1\)' != 'false'"">\1</_MechTestsCISignal>")
            .Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(SnapshotSettings.BuildServerVariables.Order(StringComparer.Ordinal), inTargets.Order(StringComparer.Ordinal));
        Assert.Contains("<_MechTestsCISignal Condition=\"'$(CI)' == 'true' or '$(CI)' == '1' or '$(CI)' == 'yes'\">CI</_MechTestsCISignal>", targets);
    }

    [Fact]
    public void TheDocsListEveryCircuitErrorCodeOnce()
    {
        var codes = typeof(CircuitFormatException).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name.EndsWith("Code", StringComparison.Ordinal))
            .Select(f => (string)f.GetRawConstantValue()!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(8, codes.Count); // MECH0100 … MECH0107
        string doc = Read("docs", "circuit-format.md");
        int start = doc.IndexOf("\n## Errors", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/circuit-format.md has no Errors section");
        int end = doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        string section = doc[start..(end < 0 ? doc.Length : end)];
        var rows = Regex.Matches(section, @"(?m)^\| `(MECH\d{4})` \|").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(codes, rows);
    }
}
