using Xunit;

namespace MechTests.Xunit.V3.Tests;

/// <summary>Tests that set MECHTESTS_STRICT or MECHTESTS_MODEL, or the samples' folders: run alone, after every parallel test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment (MECHTESTS_STRICT, MECHTESTS_MODEL)";
}
