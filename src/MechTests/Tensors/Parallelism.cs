namespace MechTests.Tensors;

/// <summary>
/// Runs independent pieces of work on the engine's threads. Work items must write disjoint outputs so results are
/// bit-identical for any thread count.
/// </summary>
public static class Parallelism
{
    /// <summary>Upper bound on threads used (default: processor count, or MECHTESTS_THREADS).</summary>
    public static int MaxThreads { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("MECHTESTS_THREADS"), out int t) && t > 0 ? t : Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/> for every index in [from, to).</summary>
    public static void For(int fromInclusive, int toExclusive, Action<int> body)
    {
        // Placeholder; replaced by the persistent worker pool.
        if (MaxThreads <= 1 || toExclusive - fromInclusive <= 1)
        {
            for (int i = fromInclusive; i < toExclusive; i++) body(i);
            return;
        }
        System.Threading.Tasks.Parallel.For(fromInclusive, toExclusive,
            new ParallelOptions { MaxDegreeOfParallelism = MaxThreads }, body);
    }
}
