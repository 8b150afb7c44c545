using System.CommandLine;
using MechTests.Models;

namespace MechTests.Cli.Commands;

/// <summary><c>--backend managed|torchsharp</c> and <c>--device cpu|cuda[:N]</c>, on every command that runs a model.</summary>
internal static class BackendOptions
{
    public static Option<string?> Backend() => new("--backend")
    {
        Description = "Engine: managed (default; or MECHTESTS_BACKEND) or torchsharp (libtorch, CPU or CUDA; same numbers within the snapshot tolerances).",
    };

    public static Option<string?> Device() => new("--device")
    {
        Description = "cpu (default), cuda or cuda:N; torchsharp only (or MECHTESTS_DEVICE).",
    };

    /// <summary>Adds both options to a command and selects the backend before its action runs.</summary>
    public static void AddTo(Command c)
    {
        var backend = Backend();
        var device = Device();
        c.Add(backend);
        c.Add(device);
        Selections[c] = (backend, device);
    }

    private static readonly Dictionary<Command, (Option<string?> Backend, Option<string?> Device)> Selections = new();

    /// <summary>Applies the command's --backend/--device (called by <see cref="CliSupport.Run"/>'s callers first).</summary>
    public static void Apply(ParseResult r)
    {
        if (!Selections.TryGetValue(r.CommandResult.Command, out var o)) return;
        string? backend = r.GetValue(o.Backend), device = r.GetValue(o.Device);
        if (backend is null && device is null) return;
        ModelBackends.Use(backend ?? ModelBackends.Default, device);
    }

    /// <summary>The engine for a loaded model under the current selection.</summary>
    public static IModelBackend Create(LoadedModel m) => ModelBackends.Create(m);
}
