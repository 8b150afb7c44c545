using MechTests.Circuits;

namespace MechTests.Xunit.Sdk;

/// <summary>
/// What a circuit test checks just before it runs: each <see cref="CircuitCase"/> argument parses (else the test
/// fails with the parse error), and its model — or a <see cref="CircuitFactAttribute"/>'s model — exists (else a skip
/// naming the path, or under strict mode a failure).
/// </summary>
internal static class CircuitPreflight
{
    /// <summary>The skip reason, or the failure, for a test about to run; both null when it may run.</summary>
    public static (string? Skip, Exception? Failure) Check(Type testClass, IEnumerable<object?> arguments, bool gatesModel, string? model)
    {
        var facts = BuildFacts.From(testClass.Assembly);
        var missing = new List<(string Path, string Why)>();
        foreach (var circuit in arguments.OfType<CircuitCase>())
        {
            try
            {
                circuit.Read();
            }
            catch (Exception e) when (e is CircuitFormatException or IOException or UnauthorizedAccessException)
            {
                // A malformed (or vanished) file is a real failure whatever the model: report it first.
                return (null, e);
            }
            if (circuit.ModelMissingReason is { } why) missing.Add((circuit.ModelPath, why));
        }
        if (gatesModel && ModelLocator.MissingReason(model, facts.ProjectDirectory) is { } factWhy)
            missing.Add((ModelLocator.Resolve(model, facts.ProjectDirectory), factWhy));
        if (missing.Count == 0) return (null, null);
        var (path, reason) = missing[0];
        if (facts.Strict)
            return (null, new ModelNotFoundException(path, $"{reason} Strict mode is on ({BuildFacts.StrictVariable} or MechTestsStrict), so this is a failure, not a skip."));
        return (reason, null);
    }
}
