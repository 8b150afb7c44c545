namespace MechTests.Circuits;

/// <summary>
/// A circuit was about to be measured on a model other than the one it names (architecture, shape or weights hash).
/// The message says what differs; <see cref="Advice"/> is left to the caller, who knows how its user points at a model
/// (<c>--model</c> on the command line; <c>model.path</c>, <c>Model = "…"</c> or <c>MECHTESTS_MODEL</c> in a test).
/// </summary>
/// <example><code>
/// try { CircuitPipeline.Rederive(claim, model); }
/// catch (ModelMismatchException e) { throw e.WithAdvice("Pass --model PATH."); }
/// </code></example>
public sealed class ModelMismatchException : InvalidOperationException
{
    /// <summary>The mismatch found in <paramref name="circuit"/>, one entry per differing field.</summary>
    /// <example><code>
    /// throw new ModelMismatchException("circuits/x.json", ["nLayers: file 12, model 5"]);
    /// </code></example>
    public ModelMismatchException(string circuit, IReadOnlyList<string> mismatches, string? advice = null)
        : base($"{circuit}: this circuit belongs to another model ({string.Join("; ", mismatches)}). " +
               (advice ?? "Run it on the model it was found on, or re-run discovery on this one."))
    {
        Circuit = circuit;
        Mismatches = mismatches;
        Advice = advice;
    }

    /// <summary>The circuit file (or "circuit").</summary>
    /// <example><code>
    /// Console.Error.WriteLine(e.Circuit);
    /// </code></example>
    public string Circuit { get; }

    /// <summary>Each field that differs: <c>field: file X, model Y</c>.</summary>
    /// <example><code>
    /// foreach (var m in e.Mismatches) Console.Error.WriteLine(m);
    /// </code></example>
    public IReadOnlyList<string> Mismatches { get; }

    /// <summary>How to point at the right model, as the caller's user does it; null for the neutral text.</summary>
    /// <example><code>
    /// string? how = e.Advice;
    /// </code></example>
    public string? Advice { get; }

    /// <summary>The same mismatch with <paramref name="advice"/> in place of the neutral text.</summary>
    /// <example><code>
    /// throw e.WithAdvice("Pass the model it was found on with --model.");
    /// </code></example>
    public ModelMismatchException WithAdvice(string advice) => new(Circuit, Mismatches, advice);
}
