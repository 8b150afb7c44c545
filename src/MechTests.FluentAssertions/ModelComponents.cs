using MechTests.Semantics;

namespace MechTests.FluentAssertions;

/// <summary>
/// Names a component or head for a role claim: <c>Component("a2.h6").Should().PromoteTheAnswer(runs, atLeast: 1)</c>,
/// <c>Head("a1.h4").Should().AttendToPreviousToken(engine, atLeast: 0.5)</c>. Import with
/// <c>using static MechTests.FluentAssertions.ModelComponents;</c>.
/// </summary>
/// <example><code>
/// using static MechTests.FluentAssertions.ModelComponents;
///
/// Component("a2.h6").Should().PromoteTheAnswer(runs, atLeast: 1.0);
/// Head("a1.h2").Should().BeAnInductionHead(engine, atLeast: 0.4);
/// </code></example>
public static class ModelComponents
{
    /// <summary>A component whose direct effect on the logits is claimed: <c>input</c>, <c>pos_embed</c>, <c>a{l}.h{h}</c>, <c>m{l}</c> or <c>m{l}.n{i}</c>.</summary>
    public static ModelComponent Component(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new ModelComponent(name);
    }

    /// <summary>An attention head <c>a{l}.h{h}</c> whose attention is claimed.</summary>
    public static AttentionHead Head(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new AttentionHead(name);
    }

    /// <summary>Assertions on a component's direct logit attribution.</summary>
    public static ComponentAssertions Should(this ModelComponent component)
    {
        MechTestsFormatters.Register();
        return new ComponentAssertions(component);
    }

    /// <summary>Assertions on a head's attention.</summary>
    public static HeadAssertions Should(this AttentionHead head)
    {
        MechTestsFormatters.Register();
        return new HeadAssertions(head);
    }
}

/// <summary>A named component (<see cref="ModelComponents.Component"/>).</summary>
/// <param name="Name">Its graph name, e.g. <c>a2.h6</c>, <c>m4</c>, <c>m4.n17</c>.</param>
public sealed record ModelComponent(string Name)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A named attention head (<see cref="ModelComponents.Head"/>).</summary>
/// <param name="Name"><c>a{l}.h{h}</c>.</param>
public sealed record AttentionHead(string Name)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Formats a head-score table's context for failure messages.</summary>
internal static class RoleText
{
    public static string Top(IEnumerable<(string Name, double Score)> ranked, int n = 3)
        => string.Join(", ", ranked.Take(n).Select(x => $"{x.Name} {Num.G(x.Score)}"));

    public static string Top(HeadScoreTable table) => Top(table.Ranked());
}
