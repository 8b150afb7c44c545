using Xunit;

namespace MechTests.Tests;

/// <summary>
/// Tests that change process-wide engine settings (thread count, forced GEMM kernel, tuning knobs) belong to this
/// collection, which xunit runs on its own so no other test class sees the changed settings.
/// </summary>
[CollectionDefinition("Engine settings", DisableParallelization = true)]
public sealed class EngineSettingsCollection
{
}
