using System.Diagnostics;
using System.Xml.Linq;
using MechTests.Circuits;

namespace MechTests.EndToEnd.Tests;

/// <summary>
/// A user's test project in a temp folder: the freshly packed MechTests packages from a local folder feed, the other
/// packages from the machine's NuGet cache (no network), a fresh packages folder so nothing stale is reused.
/// </summary>
public sealed class Consumer : IDisposable
{
    public const string Version = "0.1.0-e2e";
    /// <summary>The FluentAssertions versions a consumer may be on: the oldest the package supports and the newest served.</summary>
    public const string OldestFluentAssertions = "6.12.0", LatestFluentAssertions = "7.2.2";
    public static readonly string[] Packages = ["MechTests", "MechTests.FluentAssertions", "MechTests.Xunit", "MechTests.MSBuild", "MechTests.Cli"];

    public string Root { get; } = Directory.CreateTempSubdirectory("mechtests-e2e-").FullName;
    public string Feed => Path.Combine(Root, "feed");
    public string Project => Path.Combine(Root, "consumer");
    public string Circuits => Path.Combine(Project, "circuits");
    public string PackLog { get; }

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
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="mechtests" value="{Feed}" />
                <add key="machine-cache" value="{cache}" />
              </packageSources>
            </configuration>
            """);
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
                <PackageReference Include="Microsoft.NET.Test.Sdk" Version="18.12.0" />
                <PackageReference Include="xunit" Version="2.9.3" />
                <PackageReference Include="xunit.runner.visualstudio" Version="4.0.1" />
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

            public class ClaimTests(ITestOutputHelper output)
            {
                private static readonly BuildFacts Facts = BuildFacts.From(typeof(ClaimTests).Assembly);
                private static CircuitFile NameCopy => CircuitFile.Read(Path.Combine(Facts.CircuitsDirectory!, "name-copy.json"));

                [CircuitTheory, CircuitFiles]
                public void Holds(CircuitCase circuit) => circuit.Verify(output);

                [Fact]
                public void NameCopyIsFaithful() => NameCopy.Should().BeFaithful(EmbeddedModels.LoadStories260K(), atLeast: 0.85);

                [Fact]
                public void NameCopyIsPerfect() => NameCopy.Should().BeFaithful(EmbeddedModels.LoadStories260K(), atLeast: 0.99);
            }
            """);
        Directory.CreateDirectory(Circuits);
        Directory.CreateDirectory(Path.Combine(Project, "tasks"));
        foreach (var f in new[] { "name-copy.json", "name-copy.verified.json" })
            File.Copy(Path.Combine(RepoRoot, "circuits", f), Path.Combine(Circuits, f));
        File.Copy(Path.Combine(RepoRoot, "tasks", "name-copy.json"), Path.Combine(Project, "tasks", "name-copy.json"));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { } // a lingering build node may still hold a file
    }

    /// <summary>`dotnet ARGS` in <paramref name="dir"/> with CI, MSBuild and MECHTESTS_* variables removed, then <paramref name="env"/>.</summary>
    public (int ExitCode, string Output) Run(IReadOnlyDictionary<string, string>? env, params string[] args) => Dotnet(Project, env, args, Path.Combine(Root, "packages"));

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
        if (!p.WaitForExit(240_000)) { p.Kill(true); throw new TimeoutException($"dotnet {string.Join(' ', args)} took over 240 s"); }
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
