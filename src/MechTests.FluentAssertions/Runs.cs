using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.FluentAssertions;

/// <summary>Runs a task for one assertion call; nothing is cached across calls (pass a <see cref="TaskRuns"/> to share).</summary>
internal static class Runs
{
    public static TaskRuns For(IModelBackend model, MechTask task)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        return TaskRuns.Create(model, task);
    }

    public static TaskRuns For(LoadedModel model, MechTask task)
    {
        ArgumentNullException.ThrowIfNull(model);
        return For(ModelBackends.Create(model), task);
    }
}
