using TorchSharp;
using static TorchSharp.torch;

namespace MechTests.TorchSharp.Backend;

/// <summary>Where and in which precision the TorchSharp backend runs.</summary>
/// <example><code>
/// var options = TorchSharpOptions.Parse(device: "cuda:0", dtype: "bfloat16");
/// using var backend = TorchSharpBackend.Load(model, options);
/// </code></example>
public sealed record TorchSharpOptions
{
    /// <summary><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. Default <c>cpu</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Weight and compute type of the built-in modules: float32 (default), bfloat16 or float16.</summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>
    /// libtorch's CPU threads (process-wide); null keeps libtorch's default (one per core). Small models on a busy or
    /// small machine run several times faster with 1: the default threads spin-wait for each other on every op.
    /// </summary>
    public int? CpuThreads { get; init; }

    /// <summary>Parses the CLI's spellings; a bad value gives an error naming the option and what is accepted.</summary>
    public static TorchSharpOptions Parse(string? device = null, string? dtype = null)
    {
        string dev = string.IsNullOrWhiteSpace(device) ? "cpu" : device.Trim().ToLowerInvariant();
        if (!(dev == "cpu" || dev == "cuda" || (dev.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(dev.AsSpan(5), out int n) && n >= 0)))
            throw new ArgumentException($"--device '{device}': expected cpu, cuda or cuda:N (N = 0, 1, …).");
        var type = (dtype ?? "float32").Trim().ToLowerInvariant() switch
        {
            "float32" or "fp32" or "f32" => ScalarType.Float32,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            "float16" or "fp16" or "f16" or "half" => ScalarType.Float16,
            _ => throw new ArgumentException($"--dtype '{dtype}': expected float32, bfloat16 or float16."),
        };
        return new TorchSharpOptions { Device = dev, DType = type };
    }
}

/// <summary>
/// Starts libtorch and resolves devices, turning the failures users meet into one message that says what to add.
/// </summary>
public static class TorchRuntime
{
    private static readonly object s_gate = new();
    private static bool s_ready;

    /// <summary>
    /// Loads the native libtorch; throws <see cref="InvalidOperationException"/> naming the package to reference when
    /// no native flavour is there (or, on Linux, when the system libstdc++ is too old and the build did not patch it).
    /// </summary>
    public static void EnsureLoaded()
    {
        lock (s_gate)
        {
            if (s_ready) return;
            try
            {
                // Touching the native library loads it; TorchSharp throws NotSupportedException when it cannot.
                _ = torch.get_num_threads();
                s_ready = true;
            }
            catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException)
            {
                throw new InvalidOperationException(
                    "TorchSharp's native library (libtorch) could not be loaded. Reference a native flavour in the project that runs " +
                    "the model: <PackageReference Include=\"TorchSharp-cpu\" Version=\"0.107.0\" /> (or TorchSharp-cuda-linux / " +
                    "TorchSharp-cuda-windows for a GPU). On Linux with libstdc++ older than GCC 13 (Debian 12, Ubuntu 22.04) keep " +
                    "MechTestsPatchLibStdCxx at its default (auto) so the build patches libLibTorchSharp.so. Cause: " + Innermost(e).Message, e);
            }
        }
    }

    /// <summary>The device for <paramref name="name"/> (cpu, cuda, cuda:N); a clear error when CUDA is not there.</summary>
    public static Device ResolveDevice(string name)
    {
        EnsureLoaded();
        var opts = TorchSharpOptions.Parse(name);
        if (opts.Device == "cpu") return CPU;
        if (!torch.cuda.is_available())
            throw new InvalidOperationException(
                $"--device {opts.Device}: CUDA is not available to TorchSharp here. Reference TorchSharp-cuda-linux (or " +
                "TorchSharp-cuda-windows) instead of TorchSharp-cpu, on a machine with an NVIDIA driver, or use --device cpu.");
        int index = opts.Device == "cuda" ? 0 : int.Parse(opts.Device.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture);
        int count = torch.cuda.device_count();
        if (index >= count)
            throw new InvalidOperationException($"--device {opts.Device}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1}).");
        return torch.device(DeviceType.CUDA, index);
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);
}
