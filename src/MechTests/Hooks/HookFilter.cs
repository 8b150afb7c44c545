namespace MechTests.Hooks;

/// <summary>Chooses which hook points a run caches or a backward pass returns gradients for.</summary>
/// <example><code>
/// var only = HookFilter.Only(HookNames.Result(0), HookNames.MlpOut(0));
/// var heads = HookFilter.Where(name => name.EndsWith("attn.hook_result"));
/// </code></example>
public sealed class HookFilter
{
    private readonly Func<string, bool> _predicate;

    private HookFilter(Func<string, bool> predicate, string description)
    {
        _predicate = predicate;
        Description = description;
    }

    /// <summary>Every hook point.</summary>
    public static HookFilter All { get; } = new(_ => true, "all");

    /// <summary>No hook point.</summary>
    public static HookFilter None { get; } = new(_ => false, "none");

    /// <summary>Exactly the named hook points.</summary>
    public static HookFilter Only(params string[] names)
    {
        var set = new HashSet<string>(names, StringComparer.Ordinal);
        return new HookFilter(set.Contains, string.Join(", ", names));
    }

    /// <summary>Hook points whose name satisfies <paramref name="predicate"/>.</summary>
    public static HookFilter Where(Func<string, bool> predicate) => new(predicate, "custom");

    /// <summary>Whether <paramref name="hookName"/> is selected.</summary>
    public bool Matches(string hookName) => _predicate(hookName);

    /// <summary>A short description for messages.</summary>
    public string Description { get; }

    /// <inheritdoc />
    public override string ToString() => Description;
}
