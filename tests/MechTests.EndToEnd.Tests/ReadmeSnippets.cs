using System.Text;
using System.Text.RegularExpressions;

namespace MechTests.EndToEnd.Tests;

/// <summary>
/// The C# and shell snippets of README.md and every package README, turned into files a consumer project compiles
/// and runs as written: a snippet that declares types becomes a file of its own (its tests run with the project's);
/// the other snippets of one README are statements that run in order as one test body (<c>Snippets.&lt;Doc&gt;Statements.Run</c>),
/// their <c>using</c> lines gathered at the top. Each file gets its own namespace so two READMEs may reuse a name.
/// </summary>
public static partial class ReadmeSnippets
{
    /// <summary>The documents whose snippets must compile and run: the repository README and each package's.</summary>
    public static IReadOnlyList<string> Documents(string repoRoot)
        => [Path.Combine(repoRoot, "README.md"), .. Directory.GetFiles(Path.Combine(repoRoot, "src"), "README.md", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            // MechTests.TorchSharp's snippet needs a native libtorch flavour the consumer does not reference; it runs as
            // written in tests/MechTests.TorchSharp.Tests (ReadmeSnippetCheck) instead.
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}MechTests.TorchSharp{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            // MechTests.Xunit.V3's snippets are xUnit v3 code: they run in the xUnit v3 consumer (XunitV3Document).
            .Where(p => p != XunitV3Document(repoRoot))
            .Order(StringComparer.Ordinal)];

    /// <summary>MechTests.Xunit.V3's README, whose snippets compile and run in the xUnit v3 consumer project.</summary>
    public static string XunitV3Document(string repoRoot) => Path.Combine(repoRoot, "src", "MechTests.Xunit.V3", "README.md");

    /// <summary>A short identifier for a document: <c>Root</c>, or the package name without dots (<c>MechTestsXunit</c>).</summary>
    public static string Id(string repoRoot, string document)
    {
        string folder = Path.GetFileName(Path.GetDirectoryName(document)!);
        return Path.GetFullPath(Path.GetDirectoryName(document)!) == Path.GetFullPath(repoRoot) ? "Root" : folder.Replace(".", "", StringComparison.Ordinal);
    }

    /// <summary>The fenced blocks of one language (<c>csharp</c>, <c>bash</c>, <c>xml</c>) in a Markdown text, in order.</summary>
    public static IReadOnlyList<string> Blocks(string markdown, string language)
        => Fence().Matches(markdown.Replace("\r\n", "\n", StringComparison.Ordinal))
            .Where(m => m.Groups[1].Value == language).Select(m => m.Groups[2].Value).ToList();

    /// <summary>Writes the snippet files of <paramref name="document"/> into <paramref name="folder"/>; returns the statement test's name, or null.</summary>
    public static (IReadOnlyList<string> Files, string? StatementsTest) Write(string repoRoot, string document, string folder)
    {
        string id = Id(repoRoot, document);
        var blocks = Blocks(File.ReadAllText(document), "csharp");
        var files = new List<string>();
        var usings = new List<string>();
        var body = new StringBuilder();
        for (int i = 0; i < blocks.Count; i++)
        {
            string block = blocks[i];
            if (DeclaresTypes().IsMatch(block))
            {
                // A file-scoped namespace first: the snippet's own using lines may follow it.
                string path = Path.Combine(folder, $"{id}_{i}.cs");
                File.WriteAllText(path, $"namespace Snippets.{id}{i};\n#line 1 \"{document}:block{i}\"\n{block}");
                files.Add(path);
                continue;
            }
            var lines = block.Split('\n');
            int firstStatement = 0;
            while (firstStatement < lines.Length && (lines[firstStatement].StartsWith("using ", StringComparison.Ordinal) && !lines[firstStatement].StartsWith("using var ", StringComparison.Ordinal) && lines[firstStatement].TrimEnd().EndsWith(';') || lines[firstStatement].Trim().Length == 0))
            {
                if (lines[firstStatement].Trim().Length > 0) usings.Add(lines[firstStatement].Trim());
                firstStatement++;
            }
            body.Append($"#line 1 \"{document}:block{i}\"\n");
            body.Append(string.Join('\n', lines[firstStatement..])).Append('\n');
        }
        if (body.Length == 0) return (files, null);
        string statements = Path.Combine(folder, $"{id}_Statements.cs");
        File.WriteAllText(statements, $$"""
            {{string.Join('\n', usings.Distinct())}}

            namespace Snippets;

            public class {{id}}Statements
            {
                [Xunit.Fact]
                public void Run()
                {
            {{body}}
            #line default
                }
            }
            """);
        files.Add(statements);
        return (files, $"Snippets.{id}Statements.Run");
    }

    /// <summary>The command lines of the shell blocks that start with <paramref name="prefix"/> (comments and trailing comments dropped).</summary>
    public static IReadOnlyList<string> CommandLines(string markdown, string prefix)
        => Blocks(markdown, "bash").SelectMany(b => b.Split('\n'))
            .Select(l => Regex.Replace(l, @"\s+#\s.*$", "").Trim())
            .Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    [GeneratedRegex(@"^```(\w+)\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"^(\[[A-Za-z]|(public |internal )?(sealed |static |abstract )*(partial )?(class|record|struct|interface) )", RegexOptions.Multiline)]
    private static partial Regex DeclaresTypes();
}
