namespace MechTests.FluentAssertions;

/// <summary>A pool member whose exact patching effect was measured by the false-negative diagnostic.</summary>
/// <param name="Name">Component name (edge, node, q/k/v node, neuron).</param>
/// <param name="Rank">Its 1-based rank in the attribution (by |score|, ties by name).</param>
/// <param name="Score">The attribution's score.</param>
/// <param name="Effect">Exact patching effect, metric(patched) − metric(clean), signed mean over pairs.</param>
/// <param name="FoundBy"><c>uniform sample</c> or <c>subsampling suspect</c> (its |ĉ_SS| was among the largest).</param>
/// <param name="SubsamplingEstimate">ĉ_SS for this member, or NaN when the screen did not run.</param>
/// <example><code>
/// foreach (var m in report.Misses) Console.WriteLine($"{m.Name}: effect {m.Effect}, ranked {m.Rank} ({m.FoundBy})");
/// </code></example>
public sealed record MissedComponent(string Name, int Rank, double Score, double Effect, string FoundBy, double SubsamplingEstimate);
