using System.Runtime.CompilerServices;
using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>docs/circuit-format.md must stay true: its full example parses and re-writes to itself, its error lines are real.</summary>
public class CircuitFormatDocTests
{
    private static string Doc([CallerFilePath] string here = "")
        => File.ReadAllText(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "docs", "circuit-format.md"));

    private static string FullExample()
    {
        string doc = Doc();
        string tail = doc[doc.IndexOf("## Full example", StringComparison.Ordinal)..];
        tail = tail[(tail.IndexOf("```json\n", StringComparison.Ordinal) + 8)..];
        return tail[..tail.IndexOf("```", StringComparison.Ordinal)];
    }

    [Fact]
    public void TheFullExampleIsACanonicalCircuitFile()
    {
        string example = FullExample();
        var file = CircuitFile.Parse(example, "example.json");
        Assert.Equal(example, file.ToJson());
        Assert.Equal(5, file.Circuit.Edges.Count);
        Assert.Equal(0.313307, file.Metrics["faithfulness"].Value);
    }

    [Fact]
    public void TheDocumentedErrorLinesAreWhatTheReaderSays()
    {
        string example = FullExample();
        var renamed = example.Replace("\"input->a0.h1<k>\"", "\"a9.h0->logits\"");
        var e = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(renamed, "circuits/x.json"));
        Assert.Contains(e.Message, Doc());
        int at = example.IndexOf("\"level\": \"edge\",", StringComparison.Ordinal);
        var broken = example.Remove(at + "\"level\": \"edge\"".Length, 1);
        var s = Assert.Throws<CircuitFormatException>(() => CircuitFile.Parse(broken, "circuits/x.json"));
        Assert.StartsWith("circuits/x.json(11,5): invalid JSON: ", s.Message);
        Assert.Contains("circuits/x.json(11,5): invalid JSON: ", Doc());
    }
}
