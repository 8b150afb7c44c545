using System.Diagnostics;
using System.Xml.Linq;
using MechTests.Circuits;
using MechTests.TestModels;
using Xunit;

namespace MechTests.EndToEnd.Tests;

/// <summary>
/// A user's test project in a temp folder, set up as README.md's "Install from a clone" says: the freshly packed
/// MechTests packages in <c>../mechtests-feed</c>, found through the README's own <c>nuget.config</c>; the other packages
/// from the machine's NuGet cache (no network); a fresh packages folder so nothing stale is reused. It holds every C#
/// snippet of the READMEs (<see cref="ReadmeSnippets"/>), the embedded model's name-copy circuit and, beside it, a
/// circuit of a second model (a random GPT-2 folder under <c>models/gpt2</c>, named by the file's <c>model.path</c>).
/// </summary>
public sealed class Consumer : IDisposable
{
    public const string Version = "0.1.0-e2e";
    /// <summary>The FluentAssertions versions a consumer may be on: the oldest the package supports and the newest served.</summary>
    public const string OldestFluentAssertions = "6.12.0", LatestFluentAssertions = "7.2.2";
    public static readonly string[] Packages = ["MechTests", "MechTests.FluentAssertions", "MechTests.Xunit", "MechTests.Xunit.V3", "MechTests.MSBuild", "MechTests.Cli"];
    /// <summary>The xUnit v3 package a v3 consumer takes for a plain <c>dotnet test</c> (MechTests.Xunit.V3's README).</summary>
    public static string XunitV3 => PinnedVersion("xunit.v3.mtp-off");
    // The consumers take the test stack this repository pins, so a version bump cannot leave them on an old one.
    private static string TestSdk => PinnedVersion("Microsoft.NET.Test.Sdk");
    private static string XunitRunner => PinnedVersion("xunit.runner.visualstudio");
    private static string Xunit2 => PinnedVersion("xunit");

    public string Root { get; } = Directory.CreateTempSubdirectory("mechtests-e2e-").FullName;
    /// <summary>The package folder, where README.md's <c>dotnet pack -c Release -o ../mechtests-feed</c> puts it relative to the project.</summary>
    public string Feed => Path.Combine(Root, "mechtests-feed");
    public string Project => Path.Combine(Root, "consumer");
    public string Circuits => Path.Combine(Project, "circuits");
    /// <summary>The xUnit v3 consumer (<see cref="WriteXunitV3Project"/>), beside the xUnit v2 one.</summary>
    public string ProjectV3 => Path.Combine(Root, "consumer-v3");
    public string PackLog { get; }

    /// <summary>The second model: a random GPT-2 folder in the project (<c>%MODELS%/gpt2</c>, as the Xunit README names it).</summary>
    public string Models => Path.Combine(Project, "models");

    /// <summary>The statement snippets' test names (<c>Snippets.&lt;Doc&gt;Statements.Run</c>), one per README that has any.</summary>
    public IReadOnlyList<string> StatementTests { get; }

    /// <summary>README.md's text.</summary>
    public static string Readme => File.ReadAllText(Path.Combine(RepoRoot, "README.md"));

    public static string RepoRoot { get; } = FindRepoRoot();
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";

    public Consumer()
    {
        var log = new System.Text.StringBuilder();
        foreach (var id in Packages)
        {
            var (code, output) = Dotnet(RepoRoot, null, "pack", Path.Combine(RepoRoot, "src", id, id + ".csproj"), "-c", Configuration, "--no-build", "--nologo",
                "-o", Feed, $"-p:Version={Version}");
            log.AppendLine(output);
            if (code != 0) throw new InvalidOperationException($"dotnet pack {id} failed:\n{output}");
        }
        PackLog = log.ToString();

        Directory.CreateDirectory(Project);
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        // Offline: the folder above stands in for nuget.org (its <clear/> drops the user's sources); the MechTests
        // packages are found only through the README's nuget.config, written verbatim next to the project.
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="machine-cache" value="{cache}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(Project, "nuget.config"), ReadmeSnippets.Blocks(Readme, "xml").Single(b => b.Contains("<packageSources>", StringComparison.Ordinal)));
        File.WriteAllText(Path.Combine(Project, "Consumer.Tests.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <IsPackable>false</IsPackable>
                <ConsumerFluentAssertions Condition="'$(ConsumerFluentAssertions)' == ''">{LatestFluentAssertions}</ConsumerFluentAssertions>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MechTests.FluentAssertions" Version="{Version}" />
                <PackageReference Include="MechTests.Xunit" Version="{Version}" />
                <PackageReference Include="MechTests.MSBuild" Version="{Version}" PrivateAssets="all" />
                <!-- MechTests.FluentAssertions accepts [6.12.0, 8.0.0); `-p:ConsumerFluentAssertions=6.12.0` tries the oldest. -->
                <PackageReference Include="FluentAssertions" Version="$(ConsumerFluentAssertions)" />
                <PackageReference Include="Microsoft.NET.Test.Sdk" Version="{TestSdk}" />
                <PackageReference Include="xunit" Version="{Xunit2}" />
                <PackageReference Include="xunit.runner.visualstudio" Version="{XunitRunner}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(Project, "ClaimTests.cs"), """
            using FluentAssertions;
            using MechTests.Circuits;
            using MechTests.FluentAssertions;
            using MechTests.Models;
            using MechTests.Xunit;
            using Xunit;
            using Xunit.Abstractions;

            // The passing claims are the READMEs' own (Snippets/); this one is false on purpose.
            public class ClaimTests
            {
                private static readonly BuildFacts Facts = BuildFacts.From(typeof(ClaimTests).Assembly);
                private static CircuitFile NameCopy => CircuitFile.Read(Path.Combine(Facts.CircuitsDirectory!, "name-copy.json"));

                [Fact]
                public void NameCopyIsPerfect() => NameCopy.Should().BeFaithful(EmbeddedModels.LoadStories260K(), atLeast: 0.99);
            }
            """);
        Directory.CreateDirectory(Circuits);
        Directory.CreateDirectory(Path.Combine(Project, "tasks"));
        foreach (var f in new[] { "name-copy.json", "name-copy.verified.json" })
            File.Copy(Path.Combine(RepoRoot, "circuits", f), Path.Combine(Circuits, f));
        File.Copy(Path.Combine(RepoRoot, "tasks", "name-copy.json"), Path.Combine(Project, "tasks", "name-copy.json"));

        string snippets = Directory.CreateDirectory(Path.Combine(Project, "Snippets")).FullName;
        StatementTests = ReadmeSnippets.Documents(RepoRoot).Select(d => ReadmeSnippets.Write(RepoRoot, d, snippets).StatementsTest).OfType<string>().ToList();

        // A circuit of another model beside the embedded one's, with its accepted snapshot.
        string gpt2 = RandomGpt2.Write(Path.Combine(Models, "gpt2"));
        var tiny = RandomGpt2.Circuit(gpt2, "../../models/gpt2");
        string tinyPath = Path.Combine(Circuits, "gpt2", "tiny");
        Directory.CreateDirectory(Path.GetDirectoryName(tinyPath)!);
        tiny.Write(tinyPath + ".json");
        new SnapshotVerifier(new SnapshotSettings { AcceptRequested = true }).Verify(CircuitFile.Read(tinyPath + ".json"), tinyPath);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { } // a lingering build node may still hold a file
    }

    /// <summary>`dotnet ARGS` in <paramref name="dir"/> with CI, MSBuild and MECHTESTS_* variables removed, then <paramref name="env"/>.</summary>
    /// <remarks><c>MODELS</c> points at <see cref="Models"/>, as a user's CI would point it at a model cache.</remarks>
    public (int ExitCode, string Output) Run(IReadOnlyDictionary<string, string>? env, params string[] args) => RunIn(Project, env, args);

    private (int ExitCode, string Output) RunIn(string project, IReadOnlyDictionary<string, string>? env, string[] args)
    {
        var all = new Dictionary<string, string> { ["MODELS"] = Models };
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) all[k] = v;
        return Dotnet(project, all, args, Path.Combine(Root, "packages"));
    }

    /// <summary>
    /// A second test project beside the first, on xUnit v3 with MechTests.Xunit.V3 from the same feed: the package
    /// README's snippets, the first project's circuits (both models; the v3 README's <c>%MODELS%/gpt2</c> is the same
    /// folder), and three tests of its own — a claim that holds, one that does not (its snapshot lost an edge, kept out of
    /// <c>circuits/</c> so the README's theories stay green) and a fact on a model that is not there.
    /// </summary>
    public void WriteXunitV3Project()
    {
        Directory.CreateDirectory(ProjectV3);
        File.Copy(Path.Combine(Project, "nuget.config"), Path.Combine(ProjectV3, "nuget.config"));
        File.WriteAllText(Path.Combine(ProjectV3, "ConsumerV3.Tests.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <IsPackable>false</IsPackable>
                <OutputType>Exe</OutputType>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MechTests.Xunit.V3" Version="{Version}" />
                <PackageReference Include="xunit.v3.mtp-off" Version="{XunitV3}" />
                <PackageReference Include="xunit.runner.visualstudio" Version="{XunitRunner}" />
                <PackageReference Include="Microsoft.NET.Test.Sdk" Version="{TestSdk}" />
              </ItemGroup>
            </Project>
            """);
        CopyTree(Circuits, "*.json", Path.Combine(ProjectV3, "circuits"));
        // The gpt2 circuit's model.path is ../../models/gpt2, relative to the file.
        CopyTree(Models, "*", Path.Combine(ProjectV3, "models"));
        Directory.CreateDirectory(Path.Combine(ProjectV3, "tasks"));
        File.Copy(Path.Combine(RepoRoot, "tasks", "name-copy.json"), Path.Combine(ProjectV3, "tasks", "name-copy.json"));
        // The small GPT-2's circuit (quick to re-derive), at the same depth so its model.path still finds the model.
        string falseClaims = Directory.CreateDirectory(Path.Combine(ProjectV3, "false-claims", "gpt2")).FullName;
        File.Copy(Path.Combine(Circuits, "gpt2", "tiny.json"), Path.Combine(falseClaims, "tiny.json"));
        var verified = File.ReadAllLines(Path.Combine(Circuits, "gpt2", "tiny.verified.json")).ToList();
        verified.RemoveAt(verified.FindIndex(l => l.Contains("\"edges\": [", StringComparison.Ordinal)) + 1);
        File.WriteAllLines(Path.Combine(falseClaims, "tiny.verified.json"), verified);
        File.WriteAllText(Path.Combine(ProjectV3, "ClaimTests.cs"), """
            using MechTests.Xunit;
            using Xunit;

            public class ClaimTests(ITestOutputHelper output)
            {
                [CircuitTheory, CircuitFiles("false-claims")]
                public void Holds(CircuitCase circuit) => circuit.Verify(output);

                [CircuitFact(Model = "models/not-here.bin")]
                public void NeedsAMissingModel() => Assert.Fail("the body of a test whose model is missing ran");
            }
            """);
        string snippets = Directory.CreateDirectory(Path.Combine(ProjectV3, "Snippets")).FullName;
        Assert.Null(ReadmeSnippets.Write(RepoRoot, ReadmeSnippets.XunitV3Document(RepoRoot), snippets).StatementsTest);
    }

    /// <summary>`dotnet ARGS` in the xUnit v3 consumer, as <see cref="Run"/> does in the first.</summary>
    public (int ExitCode, string Output) RunV3(IReadOnlyDictionary<string, string>? env, params string[] args) => RunIn(ProjectV3, env, args);

    private static void CopyTree(string from, string pattern, string to)
    {
        foreach (var file in Directory.GetFiles(from, pattern, SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>The version Directory.Packages.props pins for <paramref name="id"/>.</summary>
    private static string PinnedVersion(string id)
        => (string?)XDocument.Load(Path.Combine(RepoRoot, "Directory.Packages.props")).Descendants("PackageVersion")
               .SingleOrDefault(e => (string?)e.Attribute("Include") == id)?.Attribute("Version")
           ?? throw new InvalidOperationException($"Directory.Packages.props pins no version of {id}.");

    /// <summary>A command line as documented (split on spaces; no quoting in the documented lines), with the e2e package version.</summary>
    public (int ExitCode, string Output) RunDocumented(string line)
    {
        var words = line.Replace(" 0.1.0", " " + Version, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("dotnet", words[0]);
        return Run(null, words[1..]);
    }

    private static (int ExitCode, string Output) Dotnet(string dir, IReadOnlyDictionary<string, string>? env, params string[] args) => Dotnet(dir, env, args, null);

    private static (int ExitCode, string Output) Dotnet(string dir, IReadOnlyDictionary<string, string>? env, string[] args, string? packages)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.ToList())
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key == "CI" || SnapshotSettings.BuildServerVariables.Contains(key)
                || key.StartsWith("MECHTESTS_", StringComparison.Ordinal) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                psi.Environment.Remove(key);
        if (packages != null) psi.Environment["NUGET_PACKAGES"] = packages;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); throw new TimeoutException($"dotnet {string.Join(' ', args)} took over 600 s"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Outcome and message of every test in a TRX file, by test name.</summary>
    public static Dictionary<string, (string Outcome, string Message)> ReadTrx(string path)
    {
        XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
        return XDocument.Load(path).Descendants(ns + "UnitTestResult").ToDictionary(
            r => (string)r.Attribute("testName")!,
            r => ((string)r.Attribute("outcome")!, (string?)r.Descendants(ns + "Message").FirstOrDefault() ?? ""));
    }

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MechTests.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("MechTests.sln not found above the test binaries.");
    }
}
