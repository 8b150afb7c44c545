using System.Text.RegularExpressions;
using MechTests.Circuits;
using Xunit;

namespace MechTests.MSBuild.Tests;

/// <summary>
/// MechTests.props/.targets in a real `dotnet build` of a throwaway project: located, coded errors for every broken
/// circuit file in one build; an up-to-date build that skips validation; accept baked in, and refused on CI.
/// </summary>
public sealed class IntegrationTests : IDisposable
{
    private readonly string _project = DotnetBuild.CreateProject("it");

    public void Dispose() => Directory.Delete(_project, true);

    private string Circuits => Path.Combine(_project, "circuits");

    /// <summary>The repository's name-copy circuit (a real, valid file), as text.</summary>
    private static string Valid => File.ReadAllText(Path.Combine(DotnetBuild.RepoRoot, "circuits", "name-copy.json"));

    /// <summary>1-based line and column of the first occurrence of <paramref name="needle"/>.</summary>
    private static (int Line, int Column) Where(string text, string needle)
    {
        int i = text.IndexOf(needle, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{needle}' not in the file");
        int line = text[..i].Count(c => c == '\n') + 1;
        int col = i - (text.LastIndexOf('\n', i - 1) + 1) + 1;
        return (line, col);
    }

    private static string Replace(string text, string what, string with)
    {
        int i = text.IndexOf(what, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{what}' not in the file");
        return text[..i] + with + text[(i + what.Length)..];
    }

    private string Write(string name, string text)
    {
        File.WriteAllText(Path.Combine(Circuits, name), text);
        return text;
    }

    private static string BakedMetadata(string projectDir)
    {
        string info = Directory.EnumerateFiles(Path.Combine(projectDir, "obj"), "*.AssemblyInfo.cs", SearchOption.AllDirectories).Single();
        return File.ReadAllText(info);
    }

    [Fact]
    public void EveryBrokenCircuitFileIsAnErrorAtItsLineAndColumnWithItsCode()
    {
        Write("good.json", Valid);
        string firstEdge = Regex.Match(Valid, "\\{\"name\": \"([^\"]+)\", \"score\"").Groups[1].Value;
        var cases = new (string File, string Text, string Code, string At)[]
        {
            ("syntax.json", Replace(Valid, "\"level\": \"edge\",", "\"level\": \"edge\""), CircuitFormatException.InvalidJsonCode, "\n"),
            ("unknown-field.json", Replace(Valid, "\"schemaVersion\": 1", "\"schemaVersion\": 1,\n  \"colour\": \"blue\""), CircuitFormatException.StructureCode, "\"colour\""),
            ("unknown-edge.json", Replace(Valid, $"\"{firstEdge}\"", "\"a9.h0->logits\""), CircuitFormatException.UnknownNameCode, "\"a9.h0->logits\""),
            ("duplicate-edge.json", Replace(Valid, $"{{\"name\": \"{firstEdge}\"", $"{{\"name\": \"{firstEdge}\", \"score\": 1}},\n      {{\"name\": \"{firstEdge}\""), CircuitFormatException.DuplicateCode, null!),
            ("version.json", Replace(Valid, "\"schemaVersion\": 1", "\"schemaVersion\": 99"), CircuitFormatException.SchemaVersionCode, "\"schemaVersion\": 99"),
        };
        foreach (var c in cases) Write(c.File, c.Text);

        var (code, output) = DotnetBuild.Run(_project);
        Assert.NotEqual(0, code);
        foreach (var c in cases)
        {
            var m = Regex.Match(output, $@"circuits[/\\]{Regex.Escape(c.File)}\((\d+),(\d+)\): error {c.Code}: ");
            Assert.True(m.Success, $"no {c.Code} for {c.File} in:\n{output}");
            var reported = (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
            if (c.File is "unknown-field.json" or "unknown-edge.json")
                Assert.Equal(Where(c.Text, c.At), reported);
            if (c.File == "version.json") // at the value
                Assert.Equal((Where(c.Text, c.At).Line, Where(c.Text, c.At).Column + "\"schemaVersion\": ".Length), reported);
            if (c.File == "duplicate-edge.json")
            {
                // The second occurrence is the one reported.
                int first = c.Text.IndexOf($"\"{firstEdge}\"", StringComparison.Ordinal);
                var second = Where(c.Text[(first + 1)..], $"\"{firstEdge}\"");
                int linesBefore = c.Text[..(first + 1)].Count(ch => ch == '\n');
                Assert.Equal(second.Line + linesBefore, int.Parse(m.Groups[1].Value));
            }
        }
        Assert.DoesNotContain("good.json(", output);
    }

    [Fact]
    public void AValidFolderBuildsAndASecondBuildSkipsTheCheck()
    {
        Write("good.json", Valid);
        var (code, output) = DotnetBuild.Run(_project, null, "-v:n");
        Assert.True(code == 0, output);
        Assert.Contains("MechTests: checked 1 circuit file(s); 0 with errors.", output);
        (code, output) = DotnetBuild.Run(_project, null, "-v:d");
        Assert.True(code == 0, output);
        Assert.Contains("Skipping target \"MechTestsValidateCircuits\" because all output files are up-to-date", output);
        // Touching a circuit file makes it run again.
        File.SetLastWriteTimeUtc(Path.Combine(Circuits, "good.json"), DateTime.UtcNow.AddSeconds(2));
        (code, output) = DotnetBuild.Run(_project, null, "-v:n");
        Assert.True(code == 0, output);
        Assert.Contains("MechTests: checked 1 circuit file(s)", output);
    }

    [Fact]
    public void AcceptIsBakedLocallyAndRefusedWithAWarningOnCi()
    {
        Write("good.json", Valid);
        var (code, output) = DotnetBuild.Run(_project, new Dictionary<string, string> { ["CI"] = "true" }, "-p:MechTestsAccept=true", "-p:MechTestsStrict=true");
        Assert.True(code == 0, output);
        Assert.Contains("warning MECH0002", output);
        string baked = BakedMetadata(_project);
        Assert.Contains("AssemblyMetadata(\"MechTests.Accept\", \"false\")", baked);
        Assert.Contains("AssemblyMetadata(\"MechTests.Strict\", \"true\")", baked);
        Assert.Contains($"AssemblyMetadata(\"MechTests.CircuitsDirectory\", \"{Circuits}\")", baked);

        (code, output) = DotnetBuild.Run(_project, null, "-p:MechTestsAccept=true");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("MECH0002", output);
        Assert.Contains("AssemblyMetadata(\"MechTests.Accept\", \"true\")", BakedMetadata(_project));
    }
}
