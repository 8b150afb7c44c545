using FluentAssertions.Formatting;

namespace MechTests.FluentAssertions.Formatting;

/// <summary>A value formatter for one type that writes a one-line description (or lines, where line breaks are asked for).</summary>
internal abstract class TypedFormatter<T> : IValueFormatter
{
    public bool CanHandle(object value) => value is T;

    public void Format(object value, FormattedObjectGraph formattedGraph, FormattingContext context, FormatChild formatChild)
    {
        var lines = Lines((T)value, context.UseLineBreaks);
        formattedGraph.AddFragment(lines[0]);
        if (lines.Count == 1) return;
        using var _ = formattedGraph.WithIndentation();
        foreach (var line in lines.Skip(1)) formattedGraph.AddLine(line);
    }

    /// <summary>The description: one line, or a header and indented lines when <paramref name="lineBreaks"/>.</summary>
    protected abstract IReadOnlyList<string> Lines(T value, bool lineBreaks);
}
