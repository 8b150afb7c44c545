using System.Reflection;
using MechTests.Circuits;
using Xunit;
using Xunit.v3;

namespace MechTests.Xunit.Sdk;

/// <summary>
/// The run-time check of <see cref="CircuitTheoryAttribute"/> and <see cref="CircuitFactAttribute"/> on xUnit v3:
/// <see cref="CircuitPreflight"/>'s verdict, turned into what v3's test runner understands. A skip is an exception
/// whose message starts with v3's dynamic-skip token (what <c>Assert.Skip</c> throws), so the test is reported
/// skipped with the reason and its body is not called; a failure is the exception itself.
/// </summary>
internal static class DynamicSkip
{
    /// <summary>Throws the preflight's failure or skip for a test about to run; returns when it may run.</summary>
    public static void Before(MethodInfo method, IXunitTest test, bool gatesModel, string? model)
    {
        var testClass = method.ReflectedType ?? method.DeclaringType ?? throw new InvalidOperationException($"{method.Name} has no declaring type.");
        var (skip, failure) = CircuitPreflight.Check(testClass, test.TestMethodArguments, gatesModel, model);
        if (failure != null) throw failure;
        if (skip != null) throw new SkipException(skip);
    }

    /// <summary>
    /// In a running test, skips it when <paramref name="circuit"/>'s model is missing (or fails it under strict mode,
    /// with <see cref="ModelNotFoundException"/>); outside a test, does nothing (loading then throws).
    /// </summary>
    public static void IfModelMissing(CircuitCase circuit)
    {
        if (TestContext.Current.Test is null || circuit.ModelMissingReason is not { } why) return;
        if (circuit.BuildFacts.Strict)
            throw new ModelNotFoundException(circuit.ModelPath, $"{why} Strict mode is on ({BuildFacts.StrictVariable} or MechTestsStrict), so this is a failure, not a skip.");
        throw new SkipException(why);
    }

    /// <summary>v3's contract for a run-time skip: any exception whose message is the token followed by the reason.</summary>
    private sealed class SkipException(string reason) : Exception(DynamicSkipToken.Value + reason);
}
