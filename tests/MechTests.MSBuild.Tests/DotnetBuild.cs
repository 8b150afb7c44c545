using System.Diagnostics;
using MechTests.Circuits;

namespace MechTests.MSBuild.Tests;

/// <summary>Runs `dotnet build` on a throwaway project with CI and MSBuild variables removed from its environment.</summary>
internal static class DotnetBuild
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The configuration these tests were built in (Release under the README's test command).</summary>
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";

    public static string TaskAssembly => Path.Combine(RepoRoot, "src", "MechTests.MSBuild", "bin", Configuration, "net10.0", "MechTests.MSBuild.dll");

    public static (int ExitCode, string Output) Run(string projectDir, IReadOnlyDictionary<string, string>? env = null, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = projectDir };
        foreach (var a in new[] { "build", "--nologo", "-nodeReuse:false", "--disable-build-servers", "-clp:NoSummary", "-p:RestoreIgnoreFailedSources=true",
                     // A temp folder's parents are not ours: no Directory.Build.* / Directory.Packages.props from above.
                     "-p:ImportDirectoryBuildProps=false", "-p:ImportDirectoryBuildTargets=false", "-p:ImportDirectoryPackagesProps=false" }.Concat(args)) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.ToList())
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key == "CI" || SnapshotSettings.BuildServerVariables.Contains(key)
                || key.StartsWith("MECHTESTS_", StringComparison.Ordinal) || key == "ContinuousIntegrationBuild")
                psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); throw new TimeoutException($"dotnet build in {projectDir} took over 600 s"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>A library project in a temp folder that imports the integration straight from the source tree.</summary>
    public static string CreateProject(string name)
    {
        string dir = Directory.CreateTempSubdirectory($"mechtests-msbuild-{name}-").FullName;
        string build = Path.Combine(RepoRoot, "src", "MechTests.MSBuild", "build");
        File.WriteAllText(Path.Combine(dir, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <MechTestsTaskAssembly>{TaskAssembly}</MechTestsTaskAssembly>
                <MechTestsTaskHost>true</MechTestsTaskHost>
              </PropertyGroup>
              <Import Project="{Path.Combine(build, "MechTests.props")}" />
              <Import Project="{Path.Combine(build, "MechTests.targets")}" />
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "Empty.cs"), "namespace Consumer; public static class Empty;\n");
        Directory.CreateDirectory(Path.Combine(dir, "circuits"));
        return dir;
    }

    /// <summary>
    /// The build facts baked into the throwaway project's built assembly (its Debug output), read with
    /// <see cref="BuildFacts.From"/> from a collectible load context so the file is neither locked nor kept loaded;
    /// no environment variable takes part.
    /// </summary>
    public static BuildFacts BakedFacts(string projectDir)
    {
        string dll = Path.Combine(projectDir, "bin", "Debug", "net10.0", "Consumer.dll");
        var alc = new System.Runtime.Loader.AssemblyLoadContext("mechtests-baked-facts", isCollectible: true);
        try
        {
            using var bytes = new MemoryStream(File.ReadAllBytes(dll));
            return BuildFacts.From(alc.LoadFromStream(bytes), _ => null);
        }
        finally { alc.Unload(); }
    }

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MechTests.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("MechTests.sln not found above the test binaries.");
    }
}
