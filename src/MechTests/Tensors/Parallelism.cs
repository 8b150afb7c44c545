namespace MechTests.Tensors;

/// <summary>
/// Runs independent pieces of work on the engine's threads. Work items must write disjoint outputs so results are
/// bit-identical for any thread count.
/// </summary>
/// <remarks>
/// Backed by a small persistent worker pool (see <c>WorkerPool</c>): the calling thread takes part, idle workers spin
/// briefly before blocking, and a call made from inside parallel work runs inline on the current thread.
/// </remarks>
/// <example><code>
/// Parallelism.MaxThreads = 2;
/// Parallelism.For(0, heads, h => AttendHead(h));   // each head writes its own slice of the output
/// </code></example>
public static class Parallelism
{
    private static int s_maxThreads = DefaultThreads();

    /// <summary>Upper bound on threads used (default: processor count, or MECHTESTS_THREADS).</summary>
    /// <remarks>
    /// Applies to <see cref="For"/> and to <see cref="Gemm"/>; 1 runs everything on the calling thread. Values above
    /// 256 are treated as 256. Results never depend on this value, only speed does.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxThreads
    {
        get => Volatile.Read(ref s_maxThreads);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            // Each thread beyond the caller is a pool worker; an absurd count would only make idle threads.
            Volatile.Write(ref s_maxThreads, Math.Min(value, 256));
        }
    }

    /// <summary>Runs <paramref name="body"/> for every index in [from, to).</summary>
    /// <remarks>
    /// Indices are handed out dynamically, so the order of calls is unspecified; the first exception thrown by
    /// <paramref name="body"/> stops the loop and is rethrown on the calling thread.
    /// </remarks>
    /// <example><code>
    /// var squares = new int[100];
    /// Parallelism.For(0, 100, i => squares[i] = i * i);
    /// </code></example>
    public static void For(int fromInclusive, int toExclusive, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (toExclusive <= fromInclusive) return;
        long count = (long)toExclusive - fromInclusive;
        int threads = (int)Math.Min(MaxThreads, count);
        if (threads <= 1 || WorkerPool.IsInsideParallelWork)
        {
            for (int i = fromInclusive; i < toExclusive; i++) body(i);
            return;
        }

        // Small chunks keep the load balanced when a helper starts late; several per thread amortise the claim.
        int chunk = (int)Math.Max(1, count / (threads * 8L));
        WorkerPool.Shared.Run(new ForJob(fromInclusive, body), (int)count, threads, chunk);
    }

    internal static int DefaultThreads()
    {
        string? env = Environment.GetEnvironmentVariable("MECHTESTS_THREADS");
        return int.TryParse(env, out int t) && t > 0 ? Math.Min(t, 256) : Math.Max(1, Environment.ProcessorCount);
    }

    private sealed class ForJob(int from, Action<int> body) : PoolJob
    {
        protected override void Execute(int index) => body(from + index);
    }
}
