using System.Reflection;

namespace MechTests.Models;

/// <summary>
/// Chooses the engine that runs a loaded model: <c>managed</c> (default: the in-process engine, fastest on a CPU) or
/// <c>torchsharp</c> (libtorch through the MechTests.TorchSharp package, on the CPU or a CUDA device). Every surface
/// that takes a <see cref="LoadedModel"/> — circuit pipeline, xUnit rows, FluentAssertions claims, the CLI — builds its
/// engine here, so one setting switches them all: the environment variables <c>MECHTESTS_BACKEND</c> and
/// <c>MECHTESTS_DEVICE</c>, or the MSBuild properties <c>MechTestsBackend</c>/<c>MechTestsDevice</c> (which set them
/// for <c>dotnet test</c>). The core does not depend on TorchSharp: the package is found at run time.
/// </summary>
/// <example><code>
/// // MECHTESTS_BACKEND=torchsharp MECHTESTS_DEVICE=cuda dotnet test
/// IModelBackend engine = ModelBackends.Create(EmbeddedModels.LoadStories260K());
/// </code></example>
public static class ModelBackends
{
    /// <summary>The environment variable naming the backend.</summary>
    public const string BackendVariable = "MECHTESTS_BACKEND";

    /// <summary>The environment variable naming the device (torchsharp only): cpu, cuda, cuda:N.</summary>
    public const string DeviceVariable = "MECHTESTS_DEVICE";

    private static string? s_backend, s_device;

    /// <summary>
    /// The backend set by <see cref="Use"/>, else named by <c>MECHTESTS_BACKEND</c>, else baked into a loaded test
    /// assembly by the MSBuild property <c>MechTestsBackend</c> (assembly metadata <c>MechTests.Backend</c>), else
    /// <c>managed</c>.
    /// </summary>
    public static string Default => s_backend
        ?? Normalise(Environment.GetEnvironmentVariable(BackendVariable) is { Length: > 0 } env ? env : BuildMetadata("MechTests.Backend"), BackendVariable);

    /// <summary>The first non-empty <c>[AssemblyMetadata(key, …)]</c> among the loaded assemblies (MSBuild build facts).</summary>
    private static string? BuildMetadata(string key) => AppDomain.CurrentDomain.GetAssemblies()
        .Where(a => !a.IsDynamic)
        .SelectMany(a => a.GetCustomAttributes<AssemblyMetadataAttribute>())
        .FirstOrDefault(m => m.Key == key && !string.IsNullOrWhiteSpace(m.Value))?.Value;

    /// <summary>
    /// Sets the backend (and device) for the rest of the process, over the environment variables (the CLI's
    /// <c>--backend</c>/<c>--device</c>). Checks the names.
    /// </summary>
    /// <example><code>
    /// ModelBackends.Use("torchsharp", "cuda:0");
    /// </code></example>
    public static void Use(string backend, string? device = null)
    {
        s_backend = Normalise(backend, "--backend");
        s_device = device;
    }

    /// <summary>
    /// Builds the engine for <paramref name="model"/>. <paramref name="backend"/> and <paramref name="device"/> default
    /// to the environment variables; a bad name, or torchsharp without the package, gives an error saying what to add.
    /// </summary>
    public static IModelBackend Create(LoadedModel model, string? backend = null, string? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        string name = backend is null ? Default : Normalise(backend, "--backend");
        device ??= s_device ?? (Environment.GetEnvironmentVariable(DeviceVariable) is { Length: > 0 } d ? d : BuildMetadata("MechTests.Device"));
        if (name == "managed")
        {
            if (!string.IsNullOrWhiteSpace(device) && device.Trim() != "cpu")
                throw new ArgumentException($"--device {device}: the managed backend runs on the CPU only; use --backend torchsharp for a GPU.");
            return new Transformer(model.Config, model.Weights);
        }
        var factory = TorchSharpFactory()
            ?? throw new InvalidOperationException(
                "The torchsharp backend needs the MechTests.TorchSharp package and a native TorchSharp flavour next to it: add " +
                "<PackageReference Include=\"MechTests.TorchSharp\" /> and <PackageReference Include=\"TorchSharp-cpu\" /> (or TorchSharp-cuda-linux) to the project that runs the model.");
        try
        {
            return (IModelBackend)factory.Invoke(null, new object?[] { model, device })!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static string Normalise(string? value, string source)
    {
        string v = string.IsNullOrWhiteSpace(value) ? "managed" : value.Trim().ToLowerInvariant();
        return v is "managed" or "torchsharp" ? v
            : throw new ArgumentException($"{source} '{value}': expected managed or torchsharp.");
    }

    private static MethodInfo? TorchSharpFactory()
    {
        Assembly assembly;
        try { assembly = Assembly.Load("MechTests.TorchSharp"); }
        catch (FileNotFoundException) { return null; }
        return assembly.GetType("MechTests.TorchSharp.Backend.TorchSharpBackend")?.GetMethod("FromLoadedModel", BindingFlags.Public | BindingFlags.Static);
    }
}
