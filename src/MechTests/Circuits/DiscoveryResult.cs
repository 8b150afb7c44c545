namespace MechTests.Circuits;

/// <summary>
/// A discovered circuit with the method and every parameter that produced it (the ranking among them), so the
/// result can be written to a circuit file and reproduced.
/// </summary>
/// <param name="Circuit">The pruned circuit.</param>
/// <param name="Method">
/// <c>top-n</c>, <c>threshold</c>, <c>greedy</c>, <c>acdc</c>, <c>top-n-nodes</c>, <c>threshold-nodes</c>.
/// </param>
/// <param name="Parameters">Method parameters as invariant-culture strings (e.g. <c>n</c>, <c>ranking</c>, <c>tau</c>).</param>
public sealed record DiscoveryResult(Circuit Circuit, string Method, IReadOnlyDictionary<string, string> Parameters)
{
    /// <inheritdoc />
    public override string ToString()
        => $"{Method}({string.Join(", ", Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))}): {Circuit}";
}
