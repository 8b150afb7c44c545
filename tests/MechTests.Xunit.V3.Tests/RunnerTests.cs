using MechTests.Circuits;
using MechTests.Xunit.V3.Tests.Samples;
using Xunit;

namespace MechTests.Xunit.V3.Tests;

/// <summary>[CircuitTheory]/[CircuitFiles] through xUnit v3's own discoverer and executor (see InProcessRunner).</summary>
[Collection(EnvironmentCollection.Name)]
public class RunnerTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)] // theory enumerated at run time (pre-enumeration off): the same rows, checked the same way
    public void OneRowPerCircuitFileNamedByCircuitAndAMalformedFileIsAFailingRowWithItsParseError(bool preEnumerate)
    {
        using var dir = new TempFolder();
        string valid = Stories.EmptyJson;
        dir.Write("alpha.json", valid);
        dir.Write("beta.json", valid);
        dir.Write("sub/gamma.json", valid);
        dir.Write("alpha.verified.json", valid);   // a snapshot, not a circuit
        dir.Write("notes.txt", "not a circuit");
        // An edge out of layer 7 of a 5-layer model, on a line we know.
        var lines = valid.Split('\n').ToList();
        int at = lines.FindIndex(l => l.TrimStart().StartsWith("\"edges\": ", StringComparison.Ordinal));
        Assert.True(at >= 0, "the circuit lists its edges");
        string indent = lines[at][..(lines[at].Length - lines[at].TrimStart().Length)];
        lines[at] = indent + "\"edges\": [\"a7.h0->logits\"]" + (lines[at].TrimEnd().EndsWith(',') ? "," : "");
        dir.Write("bad.json", string.Join('\n', lines));
        using var env = new EnvironmentScope().Set(RowsSample.Folder, dir.Path);

        var results = InProcessRunner.Run(typeof(RowsSample), preEnumerate);

        Assert.Equal(4, results.Count);
        Assert.Equal(["alpha", "bad", "beta", "sub/gamma"],
            results.Select(r => r.DisplayName).Select(n => n[(n.IndexOf("(circuit: ", StringComparison.Ordinal) + 10)..^1]).Order(StringComparer.Ordinal));
        Assert.All(results.Where(r => !r.DisplayName.Contains("bad", StringComparison.Ordinal)), r => Assert.Equal("passed", r.Outcome));
        var bad = Assert.Single(results, r => r.DisplayName.EndsWith("(circuit: bad)", StringComparison.Ordinal));
        Assert.Equal("failed", bad.Outcome);
        Assert.Equal(typeof(CircuitFormatException).FullName, bad.ExceptionType);
        Assert.StartsWith(Path.Combine(dir.Path, "bad.json"), bad.Message);
        Assert.Contains($"bad.json({at + 1},", bad.Message);
        Assert.Contains("a7.h0", bad.Message);
        Assert.DoesNotContain("rows:bad", Ran.Bodies);   // failed before the body ran
        // The bodies of the good rows ran and their output reached xUnit.
        Assert.Contains("alpha: 0 edges", Assert.Single(results, r => r.DisplayName.EndsWith("(circuit: alpha)", StringComparison.Ordinal)).Output);
    }

    [Theory]
    [InlineData(false)] // no such folder
    [InlineData(true)]  // a folder with only a snapshot in it
    public void AFolderThatDoesNotExistOrHoldsNoCircuitIsAFailingTestNamingIt(bool exists)
    {
        using var dir = new TempFolder();
        if (exists) dir.Write("circuits/old.verified.json", Stories.EmptyJson);
        using var env = new EnvironmentScope().Set(NoFolderSample.Folder, dir.Path);

        var result = Assert.Single(InProcessRunner.Run(typeof(NoFolderSample)));

        Assert.Equal("failed", result.Outcome);
        Assert.Contains(Path.Combine(dir.Path, "circuits"), result.Message);
        Assert.Contains(exists ? "no circuit files" : "no such folder or file", result.Message);
        Assert.DoesNotContain(Ran.Bodies, b => b.StartsWith("nofolder:", StringComparison.Ordinal));
    }
}
