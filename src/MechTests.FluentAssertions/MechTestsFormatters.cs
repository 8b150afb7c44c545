using FluentAssertions.Formatting;
using MechTests.FluentAssertions.Formatting;

namespace MechTests.FluentAssertions;

/// <summary>
/// The FluentAssertions value formatters that make MechTests objects readable in failure messages: circuits (level,
/// size, edges with scores), graph edges and nodes by name, edge lists, faithfulness results, agreement reports,
/// minimality and completeness results, missed-effect reports.
/// </summary>
/// <example><code>
/// MechTestsFormatters.Register();   // done by every Should() of this package; call it yourself before formatting them elsewhere
/// circuit.Edges.Should().HaveCount(3);   // "Expected circuit.Edges to contain 3 item(s), but found 2: 2 edges {input->a0.h1&lt;v&gt;, a1.h2->logits}."
/// </code></example>
public static class MechTestsFormatters
{
    private static readonly Lock Gate = new();
    private static volatile bool s_registered;

    /// <summary>The formatters, most specific first.</summary>
    /// <example><code>
    /// foreach (var f in MechTestsFormatters.All) Console.WriteLine(f.GetType().Name);
    /// </code></example>
    public static IReadOnlyList<IValueFormatter> All { get; } =
    [
        new CircuitFormatter(), new GraphEdgeFormatter(), new GraphNodeFormatter(), new EdgeListFormatter(),
        new FaithfulnessResultFormatter(), new AgreementReportFormatter(), new MinimalityResultFormatter(),
        new CompletenessResultFormatter(), new MissedEffectReportFormatter(),
    ];

    /// <summary>
    /// Adds <see cref="All"/> to FluentAssertions' formatters once per process. Idempotent and safe to call from
    /// parallel tests (FluentAssertions' own list is not thread-safe, so registration happens under a lock, once).
    /// </summary>
    /// <example><code>
    /// MechTestsFormatters.Register();
    /// string text = Formatter.ToString(circuit);   // "edge-level circuit with 3 edges over 4 nodes (2 layers × 3 heads): input-&gt;a0.h1&lt;v&gt;, …"
    /// </code></example>
    public static void Register()
    {
        if (s_registered) return;
        lock (Gate)
        {
            if (s_registered) return;
            // AddFormatter inserts at the front: add in reverse so the first of All is consulted first.
            foreach (var f in All.Reverse()) Formatter.AddFormatter(f);
            s_registered = true;
        }
    }
}
