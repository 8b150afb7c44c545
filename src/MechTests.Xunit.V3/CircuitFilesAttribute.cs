using System.Reflection;
using Xunit;
using Xunit.Sdk;
using Xunit.v3;

namespace MechTests.Xunit;

public sealed partial class CircuitFilesAttribute : DataAttribute
{
    /// <summary>The rows: one <see cref="CircuitCase"/> per circuit file.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder (or file) does not exist; the message names every place looked.</exception>
    /// <exception cref="FileNotFoundException">The folder holds no circuit file.</exception>
    /// <example><code>
    /// var rows = await new CircuitFilesAttribute("circuits").GetData(typeof(Claims).GetMethod("Holds")!, new DisposalTracker());
    /// foreach (var row in rows) Console.WriteLine(row.GetData()[0]);   // name-copy, pronoun, …
    /// </code></example>
    public override ValueTask<IReadOnlyCollection<ITheoryDataRow>> GetData(MethodInfo testMethod, DisposalTracker disposalTracker)
        => new(CircuitFileRows.Find(Path, Model, Pattern, Recursive, testMethod).Select(c => (ITheoryDataRow)new TheoryDataRow(c)).ToList());

    /// <summary>True: the rows are known at discovery (each is a few strings), so every circuit is its own test in Test Explorer.</summary>
    /// <example><code>
    /// Assert.True(new CircuitFilesAttribute().SupportsDiscoveryEnumeration());
    /// </code></example>
    public override bool SupportsDiscoveryEnumeration() => true;
}
