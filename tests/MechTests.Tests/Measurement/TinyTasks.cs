using MechTests.Models;
using MechTests.Tasks;

namespace MechTests.Tests.Measurement;

internal static class TinyTasks
{
    /// <summary>Random-weight tiny model of a family plus a token-id task of 3 pairs (two of length 6, one of length 4).</summary>
    public static (Transformer Engine, MechTask Task) Create(string family, MetricKind metric = MetricKind.LogitDiff)
    {
        var (engine, _, _) = Engine.FiniteDifferenceTests.Setup(family);
        var pairs = new[]
        {
            new PromptPair(0, new[] { 3, 17, 5, 42, 9, 12 }, new[] { 3, 17, 8, 42, 9, 12 }, new[] { 5 }, new[] { 8 }),
            new PromptPair(1, new[] { 11, 2, 33, 7, 49, 1 }, new[] { 11, 2, 30, 7, 49, 1 }, new[] { 33 }, new[] { 30 }),
            new PromptPair(2, new[] { 4, 21, 6, 6 }, new[] { 4, 22, 6, 6 }, new[] { 21 }, new[] { 22 }),
        };
        return (engine, new MechTask("tiny", metric, pairs));
    }
}
