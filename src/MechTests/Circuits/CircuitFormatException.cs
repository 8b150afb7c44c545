namespace MechTests.Circuits;

/// <summary>
/// A circuit or graph file that cannot be read, with where and what: rendered as
/// <c>circuits/x.json(12,5): circuit.edges[3]: edge 'a9.h0->logits' does not exist …</c> (1-based line and column,
/// the form IDEs and CI annotations turn into links). <see cref="Line"/>/<see cref="Column"/> are 0 when unknown.
/// <see cref="Code"/> classifies the problem (<c>MECH0101</c> … <c>MECH0107</c>, docs/circuit-format.md "Errors"), so
/// the build-time check reports it as <c>circuits/x.json(12,5): error MECH0104: …</c>.
/// </summary>
/// <example><code>
/// try { CircuitFile.Read("circuits/x.json"); }
/// catch (CircuitFormatException e) when (e.Code == CircuitFormatException.UnknownNameCode)
/// {
///     Console.Error.WriteLine($"{e.File}({e.Line},{e.Column}): {e.Field}: {e.Problem}");
/// }
/// </code></example>
public sealed class CircuitFormatException : FormatException
{
    /// <summary><c>MECH0100</c>: the file cannot be read, or a problem not classified by a more specific code.</summary>
    public const string UnreadableCode = "MECH0100";

    /// <summary><c>MECH0101</c>: not valid JSON (syntax, an empty file, content after the value, a number beyond a double).</summary>
    public const string InvalidJsonCode = "MECH0101";

    /// <summary><c>MECH0102</c>: a schema version this library does not read (newer or older).</summary>
    public const string SchemaVersionCode = "MECH0102";

    /// <summary><c>MECH0103</c>: an unknown or missing field, or a value of the wrong JSON type.</summary>
    public const string StructureCode = "MECH0103";

    /// <summary><c>MECH0104</c>: a node or edge name that does not exist in the model's graph.</summary>
    public const string UnknownNameCode = "MECH0104";

    /// <summary><c>MECH0105</c>: something listed twice (a JSON key, a node, an edge).</summary>
    public const string DuplicateCode = "MECH0105";

    /// <summary><c>MECH0106</c>: a dangling reference (an edge whose endpoint is not in <c>circuit.nodes</c>).</summary>
    public const string DanglingReferenceCode = "MECH0106";

    /// <summary><c>MECH0107</c>: a well-typed value outside what is allowed (unknown architecture/metric/unit/level, bad hash, out of range).</summary>
    public const string InvalidValueCode = "MECH0107";

    /// <summary>Creates the exception; the message is composed from the parts.</summary>
    public CircuitFormatException(string file, int line, int column, string? field, string problem, Exception? inner = null)
        : base(Compose(file, line, column, field, problem), inner)
    {
        File = file;
        Line = line;
        Column = column;
        Field = field;
        Problem = problem;
    }

    /// <summary>The file (as given to the reader).</summary>
    public string File { get; }

    /// <summary>1-based line, 0 if unknown.</summary>
    public int Line { get; }

    /// <summary>1-based column (characters), 0 if unknown.</summary>
    public int Column { get; }

    /// <summary>JSON path of the field, e.g. <c>circuit.edges[3]</c>; null for syntax errors.</summary>
    public string? Field { get; }

    /// <summary>The problem without the location prefix.</summary>
    public string Problem { get; }

    /// <summary>
    /// The problem's class, one of the <c>…Code</c> constants (e.g. <see cref="UnknownNameCode"/>); not part of
    /// <see cref="Exception.Message"/>. <see cref="UnreadableCode"/> when the thrower did not classify it.
    /// </summary>
    public string Code { get; init; } = UnreadableCode;

    private static string Compose(string file, int line, int column, string? field, string problem)
    {
        string where = line > 0 ? $"{file}({line},{column})" : file;
        return field == null ? $"{where}: {problem}" : $"{where}: {field}: {problem}";
    }
}
