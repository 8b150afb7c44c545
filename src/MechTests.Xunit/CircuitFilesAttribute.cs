using System.Reflection;
using Xunit.Sdk;

namespace MechTests.Xunit;

public sealed partial class CircuitFilesAttribute : DataAttribute
{
    /// <summary>The rows: one <see cref="CircuitCase"/> per circuit file.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder (or file) does not exist; the message names every place looked.</exception>
    /// <exception cref="FileNotFoundException">The folder holds no circuit file.</exception>
    /// <example><code>
    /// var rows = new CircuitFilesAttribute("circuits").GetData(typeof(Claims).GetMethod("Holds")!);
    /// foreach (var row in rows) Console.WriteLine(row[0]);   // name-copy, pronoun, …
    /// </code></example>
    public override IEnumerable<object[]> GetData(MethodInfo testMethod)
        => CircuitFileRows.Find(Path, Model, Pattern, Recursive, testMethod).Select(c => new object[] { c }).ToList();
}
