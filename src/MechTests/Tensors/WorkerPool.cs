using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace MechTests.Tensors;

/// <summary>
/// A unit of parallel work made of <c>count</c> independent tasks that participants claim dynamically.
/// The calling thread always drains the remaining tasks itself, so a helper that starts late (or never) only
/// loses work, it never holds the caller up.
/// </summary>
internal abstract class PoolJob
{
    private const int ClosedBit = 1 << 30;

    private long _next;
    private int _count;
    private int _chunk;
    // Low bits: helpers currently inside the job; ClosedBit: no more helpers may join.
    private int _state = ClosedBit;
    private ExceptionDispatchInfo? _error;

    /// <summary>Runs task <paramref name="index"/>; tasks must write disjoint outputs.</summary>
    protected abstract void Execute(int index);

    /// <summary>Resets the claim counter for a new run; only called while no helper is inside.</summary>
    internal void Prepare(int count, int chunk)
    {
        _count = count;
        _chunk = Math.Max(1, chunk);
        _error = null;
        _next = 0;
        // Publish the fields above before helpers may join (release).
        Volatile.Write(ref _state, 0);
    }

    /// <summary>Claims and runs tasks until none are left (or one failed).</summary>
    internal void Drain()
    {
        int chunk = _chunk, count = _count;
        while (true)
        {
            long start = Interlocked.Add(ref _next, chunk) - chunk;
            if (start >= count) return;
            int end = (int)Math.Min(start + chunk, count);
            try
            {
                for (int i = (int)start; i < end; i++) Execute(i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                // Stop handing out work; every participant drops out at its next claim.
                Interlocked.Exchange(ref _next, count);
                return;
            }
        }
    }

    /// <summary>A helper asks to take part; refused once the caller has closed the run.</summary>
    internal bool TryJoin()
    {
        int s = Volatile.Read(ref _state);
        while (true)
        {
            if ((s & ClosedBit) != 0) return false;
            int seen = Interlocked.CompareExchange(ref _state, s + 1, s);
            if (seen == s) return true;
            s = seen;
        }
    }

    internal void Leave() => Interlocked.Decrement(ref _state);

    /// <summary>Called by the owner after its own <see cref="Drain"/>: refuses new helpers, waits for those inside.</summary>
    internal void CloseAndWait()
    {
        Interlocked.Or(ref _state, ClosedBit);
        var spin = new SpinWait();
        while (Volatile.Read(ref _state) != ClosedBit) spin.SpinOnce(sleep1Threshold: -1);
        _error?.Throw();
    }
}

/// <summary>
/// Persistent worker threads shared by <see cref="Parallelism.For"/> and <see cref="Gemm"/>. Workers spin briefly
/// after each job (so back-to-back parallel regions start without a wake-up delay) and then block.
/// </summary>
internal sealed class WorkerPool
{
    /// <summary>How long an idle worker polls for new work before it blocks.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

    [ThreadStatic] private static bool t_insideWork;

    private readonly object _grow = new();
    private Worker[] _workers = [];

    /// <summary>The process-wide pool.</summary>
    public static WorkerPool Shared { get; } = new();

    /// <summary>True on a pool worker, or on a caller while it runs its share of a job: nested work runs inline.</summary>
    public static bool IsInsideParallelWork => t_insideWork;

    /// <summary>Runs every task of <paramref name="job"/> on up to <paramref name="threads"/> threads, the caller included.</summary>
    public void Run(PoolJob job, int taskCount, int threads, int chunk = 1)
    {
        job.Prepare(taskCount, chunk);
        int helpers = Math.Min(threads, (taskCount + chunk - 1) / Math.Max(1, chunk)) - 1;
        if (helpers > 0 && !t_insideWork)
        {
            Worker[] workers = EnsureWorkers(helpers);
            for (int i = 0; i < helpers; i++) workers[i].Post(job);
        }

        bool wasInside = t_insideWork;
        t_insideWork = true;
        try
        {
            job.Drain();
        }
        finally
        {
            t_insideWork = wasInside;
        }
        job.CloseAndWait();
    }

    private Worker[] EnsureWorkers(int count)
    {
        Worker[] workers = Volatile.Read(ref _workers);
        if (workers.Length >= count) return workers;
        lock (_grow)
        {
            workers = _workers;
            if (workers.Length >= count) return workers;
            var grown = new Worker[count];
            Array.Copy(workers, grown, workers.Length);
            for (int i = workers.Length; i < count; i++) grown[i] = new Worker(i + 1);
            Volatile.Write(ref _workers, grown);
            return grown;
        }
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _signal = new(0);
        private PoolJob? _pending;
        private int _sleeping;

        public Worker(int id)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"MechTests worker {id}" };
            thread.Start();
        }

        public void Post(PoolJob job)
        {
            // A job that was posted earlier but never taken is simply replaced: its owner drains it alone.
            Volatile.Write(ref _pending, job);
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _sleeping) != 0) _signal.Release();
        }

        private void Loop()
        {
            t_insideWork = true;
            while (true)
            {
                PoolJob job = Take();
                if (!job.TryJoin()) continue;
                try
                {
                    job.Drain();
                }
                finally
                {
                    job.Leave();
                }
            }
        }

        private PoolJob Take()
        {
            long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            while (true)
            {
                if (Volatile.Read(ref _pending) != null)
                {
                    PoolJob? job = Interlocked.Exchange(ref _pending, null);
                    if (job != null) return job;
                }
                if (Stopwatch.GetTimestamp() < spinUntil)
                {
                    Thread.SpinWait(8);
                    continue;
                }

                // Dekker-style hand-shake with Post: either we see the job, or Post sees us asleep and signals.
                Volatile.Write(ref _sleeping, 1);
                Interlocked.MemoryBarrier();
                PoolJob? late = Interlocked.Exchange(ref _pending, null);
                if (late != null)
                {
                    Volatile.Write(ref _sleeping, 0);
                    return late;
                }
                _signal.Wait();
                Volatile.Write(ref _sleeping, 0);
                spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            }
        }
    }
}
