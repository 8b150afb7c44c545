namespace MechTests.Circuits;

/// <summary>
/// A circuit or graph file that cannot be read, with where and what: rendered as
/// <c>circuits/x.json(12,5): circuit.edges[3]: edge 'a9.h0->logits' does not exist …</c> (1-based line and column,
/// the form IDEs and CI annotations turn into links). <see cref="Line"/>/<see cref="Column"/> are 0 when unknown.
/// </summary>
public sealed class CircuitFormatException : FormatException
{
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

    private static string Compose(string file, int line, int column, string? field, string problem)
    {
        string where = line > 0 ? $"{file}({line},{column})" : file;
        return field == null ? $"{where}: {problem}" : $"{where}: {field}: {problem}";
    }
}
