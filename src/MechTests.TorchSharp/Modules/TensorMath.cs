using TorchSharp;
using static TorchSharp.torch;

namespace MechTests.TorchSharp.Modules;

/// <summary>
/// Tensor sums and differences with a Scalar that lives for the process. TorchSharp's <c>a + b</c> and <c>a - b</c>
/// pass a temporary Scalar (alpha = 1) whose finaliser can run while libtorch still reads it; after many passes that
/// shows up as "Unknown scalar type" or a failed toFloat check. Use these (or Scalars you keep) in code that runs often.
/// </summary>
/// <example><code>
/// var residMid = residPre.Plus(attnOut);
/// </code></example>
public static class TensorMath
{
    private static readonly Scalar s_one = 1.ToScalar(), s_minusOne = (-1).ToScalar();

    /// <summary>a + b, without a temporary Scalar.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, s_one);

    /// <summary>a − b, without a temporary Scalar.</summary>
    public static Tensor Minus(this Tensor a, Tensor b) => a.add(b, s_minusOne);
}
