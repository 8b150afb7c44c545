using Xunit;

namespace MechTests.Xunit.Tests;

/// <summary>Tests that set MECHTESTS_STRICT or MECHTESTS_MODEL: run alone, after every parallel test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment (MECHTESTS_STRICT, MECHTESTS_MODEL)";
}

/// <summary>A collection fixture as users declare it (used by a sample class).</summary>
[CollectionDefinition(Name)]
public sealed class ModelsCollection : ICollectionFixture<ModelFixture>
{
    public const string Name = "models";
}
