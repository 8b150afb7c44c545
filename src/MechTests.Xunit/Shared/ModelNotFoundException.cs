namespace MechTests.Xunit;

/// <summary>
/// The model a circuit test needs is not there. Under <see cref="CircuitTheoryAttribute"/> and
/// <see cref="CircuitFactAttribute"/> a missing model skips the test with this message instead; under strict mode
/// (<c>MECHTESTS_STRICT=1</c>, <c>-p:MechTestsStrict=true</c>) the test fails with this exception, so CI that is meant
/// to have every model cannot pass by skipping.
/// </summary>
/// <example><code>
/// try { circuit.LoadModel(); }
/// catch (ModelNotFoundException e) { output.WriteLine($"no model at {e.FileName}"); }
/// </code></example>
public sealed class ModelNotFoundException : FileNotFoundException
{
    /// <summary>Creates the exception for the model expected at <paramref name="path"/>, with the full explanation <paramref name="message"/>.</summary>
    /// <example><code>
    /// throw new ModelNotFoundException("/models/gpt2", ModelLocator.MissingReason("/models/gpt2")!);
    /// </code></example>
    public ModelNotFoundException(string path, string message) : base(message, path) { }
}
