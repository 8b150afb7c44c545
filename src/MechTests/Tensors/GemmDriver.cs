using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MechTests.Tensors;

/// <summary>A register-tiled micro-kernel and its tile shape; implemented by value types so the driver specialises.</summary>
internal unsafe interface IGemmKernel
{
    /// <summary>Rows of C per micro-tile (the packed A sliver height).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of C per micro-tile (the packed B sliver width).</summary>
    static abstract int NR { get; }

    /// <summary>Whether this CPU can run the kernel.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>
    /// C[MR×NR] = (loadC ? C : 0) + A·B over <paramref name="kc"/> steps, with A packed as <c>a[p·MR + r]</c> and B
    /// as <c>b[p·NR + j]</c>. Each element is one fused multiply-add chain in p order, which is what makes the
    /// result independent of how C is tiled across threads.
    /// </summary>
    static abstract void Kernel(float* a, float* b, float* c, nint ldc, int kc, bool loadC);
}

/// <summary>Cache blocking parameters; internal and mutable so benchmarks can tune them.</summary>
internal static class GemmTuning
{
    /// <summary>
    /// Largest k block. Deep blocks mean fewer passes over C, whose rows are far apart and costly to reload; a
    /// 32-column B sliver this deep (96 KiB) is read from L2, which the kernel's two loads per step tolerate.
    /// </summary>
    public static int KcMax = 768;

    /// <summary>Largest row block: its packed A is shared by all threads and re-read for every B sliver.</summary>
    public static int McMax = 768;

    /// <summary>
    /// Most floats of packed A per parallel phase (at least one k block). About one L2 (1 MiB): every tile re-reads
    /// the shared block, and a deeper group is re-read from L3 (300×768×50257: 236 → 286 GFLOP/s at 2^18 vs 2^21).
    /// </summary>
    public static int PackedABudget = 1 << 18;

    /// <summary>Floats of B packed per pass (several slivers row by row, so each strided row read brings whole lines).</summary>
    public static int PanelBudget = 1 << 17;

    /// <summary>A slivers packed per task (row by row across the group, for the same reason).</summary>
    public static int ASliversPerTask = 8;

    /// <summary>Compute tasks per thread: enough to balance a helper that starts late, few enough to keep blocks large.</summary>
    public static int TasksPerThread = 4;

    /// <summary>Below this many multiply-adds (≈ 128³) a second thread costs more in hand-off than it saves.</summary>
    public static long ParallelThreshold = 1L << 21;

    /// <summary>Prefetch the next B panel's source while the current one computes.</summary>
    public static bool PrefetchPanels = true;
}

/// <summary>
/// The blocked GEMM for one micro-kernel: C is cut into row blocks (≤ McMax) and k groups; for each, A is packed once
/// (in parallel, shared by all threads) and then independent C tiles are computed in parallel, each thread packing its
/// own B panels. A k group never spans threads, so every C element sees the same sums in the same order.
/// </summary>
internal sealed unsafe class GemmJob<TK> : PoolJob where TK : struct, IGemmKernel
{
    private float* _a, _b, _c;
    private nint _lda, _ldb, _ldc;
    private bool _transA, _transB, _accumulate;
    private int _m, _n;
    private int _kc;

    // Current row block and k group.
    private int _i0, _aSlivers, _aGroups, _mcPad;
    private int _g0, _gEnd;
    private float* _packedA;

    // Current phase: packing A, or computing tiles.
    private bool _packPhase;
    private int _rowParts, _colParts, _bSlivers;

    /// <summary>Runs the whole product; the operands are already validated and pinned.</summary>
    public static void Run(float* a, nint lda, bool transA, float* b, nint ldb, bool transB, float* c, nint ldc,
        int m, int n, int k, bool accumulate, int threads)
    {
        int mr = TK.MR, nr = TK.NR;
        var job = new GemmJob<TK>
        {
            _a = a, _b = b, _c = c, _lda = lda, _ldb = ldb, _ldc = ldc,
            _transA = transA, _transB = transB, _accumulate = accumulate, _m = m, _n = n,
        };

        // Near-equal k blocks (multiples of 8 for the transposing packers) so no block is a tiny remainder.
        int kBlocks = CeilDiv(k, GemmTuning.KcMax);
        job._kc = RoundUp(CeilDiv(k, kBlocks), 8);
        int mBlocks = CeilDiv(m, GemmTuning.McMax);
        int mcNominal = RoundUp(CeilDiv(m, mBlocks), mr);
        job._bSlivers = CeilDiv(n, nr);

        GemmScratch scratch = GemmScratch.Current;
        for (int i0 = 0; i0 < m; i0 += mcNominal)
        {
            int mc = Math.Min(mcNominal, m - i0);
            job._i0 = i0;
            job._aSlivers = CeilDiv(mc, mr);
            job._aGroups = CeilDiv(job._aSlivers, GemmTuning.ASliversPerTask);
            job._mcPad = job._aSlivers * mr;
            int groupLen = Math.Max(1, GemmTuning.PackedABudget / (job._mcPad * job._kc)) * job._kc;
            job._packedA = scratch.PackedA((long)job._mcPad * Math.Min(groupLen, RoundUp(k, job._kc)));

            // Enough compute tasks to balance the threads; split rows too when C has few column slivers.
            int target = threads > 1 ? threads * GemmTuning.TasksPerThread : 1;
            job._colParts = Math.Min(job._bSlivers, target);
            job._rowParts = Math.Min(job._aSlivers, CeilDiv(target, job._colParts));

            for (int g0 = 0; g0 < k; g0 += groupLen)
            {
                job._g0 = g0;
                job._gEnd = Math.Min(k, g0 + groupLen);
                int kbInGroup = CeilDiv(job._gEnd - g0, job._kc);

                job._packPhase = true;
                job.RunPhase(kbInGroup * job._aGroups, threads);
                job._packPhase = false;
                job.RunPhase(job._rowParts * job._colParts, threads);
            }
        }
    }

    private void RunPhase(int tasks, int threads)
    {
        if (threads <= 1 || tasks <= 1)
        {
            for (int t = 0; t < tasks; t++) Execute(t);
            return;
        }
        WorkerPool.Shared.Run(this, tasks, threads);
    }

    protected override void Execute(int index)
    {
        if (_packPhase) PackAGroup(index);
        else ComputeTiles(index);
    }

    /// <summary>Packs a group of MR-row slivers of A for one k block into the shared buffer.</summary>
    private void PackAGroup(int index)
    {
        int mr = TK.MR;
        int kb = index / _aGroups, group = index % _aGroups;
        int p0 = _g0 + kb * _kc;
        int kcLen = Math.Min(_kc, _gEnd - p0);
        int sFirst = group * GemmTuning.ASliversPerTask;
        int sEnd = Math.Min(_aSlivers, sFirst + GemmTuning.ASliversPerTask);
        int i = _i0 + sFirst * mr;
        int rows = Math.Min((sEnd - sFirst) * mr, _m - i);
        float* dst = _packedA + (nint)(p0 - _g0) * _mcPad + (nint)sFirst * kcLen * mr;
        if (_transA)
        {
            GemmPacking.PackContiguous(_a + p0 * _lda + i, _lda, rows, kcLen, mr, dst);
            return;
        }
        for (int r = 0; r < rows; r += mr, dst += kcLen * mr)
            GemmPacking.PackTransposed(_a + (i + r) * _lda + p0, _lda, Math.Min(mr, rows - r), kcLen, mr, dst);
    }

    /// <summary>Computes one rectangle of micro-tiles over every k block of the current group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ComputeTiles(int index)
    {
        int mr = TK.MR, nr = TK.NR;
        int rp = index / _colParts, cp = index % _colParts;
        int s0 = (int)((long)rp * _aSlivers / _rowParts), s1 = (int)((long)(rp + 1) * _aSlivers / _rowParts);
        int js0 = (int)((long)cp * _bSlivers / _colParts), js1 = (int)((long)(cp + 1) * _bSlivers / _colParts);
        int panelSlivers = Math.Max(1, GemmTuning.PanelBudget / (_kc * nr));

        GemmScratch scratch = GemmScratch.Current;
        float* panel = scratch.PackedB((long)_kc * nr * Math.Min(panelSlivers, js1 - js0));
        for (int p0 = _g0; p0 < _gEnd; p0 += _kc)
        {
            int kcLen = Math.Min(_kc, _gEnd - p0);
            bool loadC = _accumulate || p0 > 0;
            float* aBlock = _packedA + (nint)(p0 - _g0) * _mcPad;
            for (int ps = js0; ps < js1; ps += panelSlivers)
            {
                int pe = Math.Min(js1, ps + panelSlivers);
                int j0 = ps * nr;
                int cols = Math.Min(pe * nr, _n) - j0;
                PackPanel(p0, kcLen, j0, cols, panel);

                // While this panel computes, pull the next one's source into L2: B usually comes from DRAM, and
                // the kernel leaves the memory system idle, so the next pack then runs at cache speed.
                int nextPs = ps + panelSlivers, nextP0 = p0;
                if (nextPs >= js1) (nextPs, nextP0) = (js0, p0 + _kc);
                var prefetch = nextP0 < _gEnd
                    ? PanelPrefetch.For(this, nextP0, Math.Min(_kc, _gEnd - nextP0), nextPs * nr,
                        Math.Min(Math.Min(js1, nextPs + panelSlivers) * nr, _n) - nextPs * nr, (pe - ps) * (s1 - s0))
                    : default;

                for (int js = ps; js < pe; js++)
                {
                    int jc = js * nr;
                    int sliverCols = Math.Min(nr, _n - jc);
                    float* bSliver = panel + (nint)(js - ps) * kcLen * nr;
                    for (int s = s0; s < s1; s++)
                    {
                        int i = _i0 + s * mr;
                        int rows = Math.Min(mr, _m - i);
                        float* aSliver = aBlock + (nint)s * kcLen * mr;
                        float* cTile = _c + i * _ldc + jc;
                        // C rows are far apart and usually not cached; fetch the next tile while this one computes.
                        if (s + 1 < s1) PrefetchTile(cTile + mr * _ldc, Math.Min(mr, _m - i - mr), sliverCols);
                        prefetch.Step();
                        if (rows == mr && sliverCols == nr) TK.Kernel(aSliver, bSliver, cTile, _ldc, kcLen, loadC);
                        else EdgeTile(aSliver, bSliver, cTile, rows, sliverCols, kcLen, loadC, scratch);
                    }
                }
            }
        }
    }

    /// <summary>Packs columns [j0, j0+cols) of op(B), k steps [p0, p0+kcLen), as consecutive NR-wide slivers.</summary>
    private void PackPanel(int p0, int kcLen, int j0, int cols, float* panel)
    {
        int nr = TK.NR;
        if (_transB)
        {
            for (int q = 0; q < cols; q += nr)
                GemmPacking.PackTransposed(_b + (j0 + q) * _ldb + p0, _ldb, Math.Min(nr, cols - q), kcLen, nr, panel + (nint)q * kcLen);
        }
        else
        {
            GemmPacking.PackContiguous(_b + p0 * _ldb + j0, _ldb, cols, kcLen, nr, panel);
        }
    }

    /// <summary>Walks the source lines of the next B panel, a few per kernel call, issuing L2 prefetches.</summary>
    private struct PanelPrefetch
    {
        private float* _row;
        private nint _ld;
        private int _rowsLeft, _rowFloats, _offset, _perStep;

        public static PanelPrefetch For(GemmJob<TK> job, int p0, int kcLen, int j0, int cols, int steps)
        {
            if (!Sse.IsSupported || cols <= 0 || !GemmTuning.PrefetchPanels) return default;
            var pf = new PanelPrefetch { _ld = job._ldb };
            if (job._transB)
            {
                pf._row = job._b + j0 * job._ldb + p0;
                pf._rowsLeft = cols;
                pf._rowFloats = kcLen;
            }
            else
            {
                pf._row = job._b + p0 * job._ldb + j0;
                pf._rowsLeft = kcLen;
                pf._rowFloats = cols;
            }
            long lines = (long)pf._rowsLeft * (pf._rowFloats / 16 + 2);
            pf._perStep = (int)Math.Min(int.MaxValue, lines / Math.Max(1, steps) + 1);
            return pf;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step()
        {
            for (int i = 0; i < _perStep && _rowsLeft > 0; i++)
            {
                Sse.Prefetch1(_row + _offset);
                _offset += 16;
                if (_offset >= _rowFloats + 15)
                {
                    _offset = 0;
                    _row += _ld;
                    _rowsLeft--;
                }
                else if (_offset >= _rowFloats)
                {
                    _offset = _rowFloats - 1; // the row's last line, when the row is not line-aligned
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrefetchTile(float* c, int rows, int cols)
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < rows; r++, c += _ldc)
        {
            for (int j = 0; j < cols; j += 16) Sse.Prefetch0(c + j);
            Sse.Prefetch0(c + cols - 1);
        }
    }

    /// <summary>A partial tile runs the same kernel on a padded copy, so its elements get the very same sums.</summary>
    private void EdgeTile(float* a, float* b, float* c, int rows, int cols, int kcLen, bool loadC, GemmScratch scratch)
    {
        int mr = TK.MR, nr = TK.NR;
        float* tile = scratch.Tile(mr * nr);
        if (loadC)
        {
            new Span<float>(tile, mr * nr).Clear();
            for (int r = 0; r < rows; r++)
                new ReadOnlySpan<float>(c + r * _ldc, cols).CopyTo(new Span<float>(tile + r * nr, cols));
        }
        TK.Kernel(a, b, tile, nr, kcLen, loadC);
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(tile + r * nr, cols).CopyTo(new Span<float>(c + r * _ldc, cols));
    }

    private static int CeilDiv(int x, int y) => (x + y - 1) / y;

    private static int RoundUp(int x, int multiple) => CeilDiv(x, multiple) * multiple;
}

/// <summary>
/// Per-thread packing buffers, 64-byte aligned in pinned arrays (so the pointers stay valid) and reused across calls.
/// </summary>
internal sealed unsafe class GemmScratch
{
    [ThreadStatic] private static GemmScratch? t_current;

    private Buffer _packedA, _packedB, _tile;

    public static GemmScratch Current => t_current ??= new GemmScratch();

    public float* PackedA(long floats) => _packedA.Get(floats);

    public float* PackedB(long floats) => _packedB.Get(floats);

    public float* Tile(long floats) => _tile.Get(floats);

    private struct Buffer
    {
        private float[]? _array;
        private float* _aligned;
        private long _capacity;

        public float* Get(long floats)
        {
            if (floats > _capacity)
            {
                // Grow geometrically so a sequence of slightly larger products does not reallocate each time.
                long capacity = Math.Max(floats, _capacity + _capacity / 2);
                if (capacity + 16 > Array.MaxLength) throw new OutOfMemoryException("GEMM packing buffer too large.");
                _array = GC.AllocateUninitializedArray<float>((int)capacity + 16, pinned: true);
                nint address = (nint)Unsafe.AsPointer(ref _array[0]);
                _aligned = (float*)((address + 63) & ~(nint)63);
                _capacity = capacity;
            }
            return _aligned;
        }
    }
}
