using MechTests.Circuits;
using Xunit;

namespace MechTests.Tests.Circuits;

/// <summary>Tests that read or change process environment variables run one at a time, never beside each other.</summary>
[CollectionDefinition("Environment", DisableParallelization = true)]
public sealed class EnvironmentCollection;

/// <summary>
/// Sets environment variables for one test and restores every variable it touched on dispose. CI signals are
/// cleared first, so tests behave the same on a developer machine and on a build server.
/// </summary>
internal sealed class EnvironmentScope : IDisposable
{
    private readonly Dictionary<string, string?> _saved = new();

    public EnvironmentScope(params (string Name, string? Value)[] set)
    {
        foreach (var name in SnapshotSettings.BuildServerVariables.Append("CI").Append(SnapshotSettings.AcceptVariable).Append(SnapshotSettings.AcceptOnCiVariable))
            Set(name, null);
        foreach (var (name, value) in set) Set(name, value);
    }

    private void Set(string name, string? value)
    {
        if (!_saved.ContainsKey(name)) _saved[name] = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved) Environment.SetEnvironmentVariable(name, value);
    }
}
