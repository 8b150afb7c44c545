using System.Buffers;

namespace MechTests.Models.Tokenizers;

/// <summary>Says whether two adjacent symbols merge, into what, and how urgently.</summary>
internal interface IMergeRule
{
    /// <summary>
    /// True when <paramref name="left"/> followed by <paramref name="right"/> can merge into <paramref name="merged"/>;
    /// the pair with the lowest <paramref name="priority"/> merges first (a BPE rank, or minus a SentencePiece score).
    /// </summary>
    bool TryMerge(int left, int right, out double priority, out int merged);
}

/// <summary>
/// Greedy pair merging shared by every BPE variant here: repeatedly merge the adjacent pair with the lowest
/// priority, the leftmost one on ties, until no pair merges. Short words use a flat array (fewest allocations);
/// long ones (SentencePiece segments have no pre-tokenizer, so a whole prompt can be one "word") use a linked list
/// and a priority queue so the cost is O(n log n) rather than O(n²). Both paths make the same choices.
/// </summary>
internal static class MergeEngine
{
    /// <summary>Words up to this many symbols use the flat-array path.</summary>
    internal const int SmallWordLimit = 64;

    /// <summary>Merges <paramref name="symbols"/> in place and returns how many remain at the front.</summary>
    public static int Run<TRule>(Span<int> symbols, in TRule rule, bool forceQueue = false) where TRule : struct, IMergeRule
    {
        if (symbols.Length < 2) return symbols.Length;
        return symbols.Length <= SmallWordLimit && !forceQueue ? RunFlat(symbols, rule) : RunQueue(symbols, rule);
    }

    private static int RunFlat<TRule>(Span<int> symbols, in TRule rule) where TRule : struct, IMergeRule
    {
        int n = symbols.Length;
        // pairPriority[i] / pairMerged[i] describe the pair (symbols[i], symbols[i + 1]).
        Span<double> pairPriority = stackalloc double[n];
        Span<int> pairMerged = stackalloc int[n];
        for (int i = 0; i + 1 < n; i++) Score(symbols, i, rule, pairPriority, pairMerged);

        while (n > 1)
        {
            int best = -1;
            double bestPriority = double.PositiveInfinity;
            for (int i = 0; i + 1 < n; i++)
            {
                // Strict '<' keeps the leftmost pair on ties.
                if (pairPriority[i] < bestPriority) { bestPriority = pairPriority[i]; best = i; }
            }
            if (best < 0) break;

            // Replace the pair by its merge: drop symbol best + 1 and the pair entry it started, keeping the
            // entries of later pairs (they are unchanged, only shifted); the two neighbours are re-scored below.
            symbols[best] = pairMerged[best];
            symbols.Slice(best + 2, n - best - 2).CopyTo(symbols.Slice(best + 1));
            int laterPairs = n - best - 3;
            if (laterPairs > 0)
            {
                pairPriority.Slice(best + 2, laterPairs).CopyTo(pairPriority.Slice(best + 1));
                pairMerged.Slice(best + 2, laterPairs).CopyTo(pairMerged.Slice(best + 1));
            }
            n--;
            if (best > 0) Score(symbols, best - 1, rule, pairPriority, pairMerged);
            if (best + 1 < n) Score(symbols, best, rule, pairPriority, pairMerged);
        }
        return n;
    }

    private static void Score<TRule>(Span<int> symbols, int i, in TRule rule, Span<double> priority, Span<int> merged)
        where TRule : struct, IMergeRule
    {
        if (rule.TryMerge(symbols[i], symbols[i + 1], out double p, out int m)) { priority[i] = p; merged[i] = m; }
        else { priority[i] = double.PositiveInfinity; merged[i] = -1; }
    }

    private readonly record struct Candidate(int Left, int Right, int LeftId, int RightId, int Merged);

    private sealed class CandidateOrder : IComparer<(double Priority, int Position)>
    {
        public static readonly CandidateOrder Instance = new();
        public int Compare((double Priority, int Position) a, (double Priority, int Position) b)
        {
            int c = a.Priority.CompareTo(b.Priority);
            return c != 0 ? c : a.Position.CompareTo(b.Position);
        }
    }

    private static int RunQueue<TRule>(Span<int> symbols, in TRule rule) where TRule : struct, IMergeRule
    {
        int n = symbols.Length;
        int[] prev = ArrayPool<int>.Shared.Rent(n);
        int[] next = ArrayPool<int>.Shared.Rent(n);
        bool[] dead = ArrayPool<bool>.Shared.Rent(n);
        try
        {
            for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1; dead[i] = false; }
            var queue = new PriorityQueue<Candidate, (double, int)>(n, CandidateOrder.Instance);
            for (int i = 0; i + 1 < n; i++) Push(queue, symbols, i, i + 1, rule);

            // Positions never move, so ordering ties by the left position is "leftmost first".
            while (queue.TryDequeue(out Candidate c, out _))
            {
                if (dead[c.Left] || dead[c.Right] || next[c.Left] != c.Right
                    || symbols[c.Left] != c.LeftId || symbols[c.Right] != c.RightId)
                    continue; // stale: one side was merged away since this pair was queued

                symbols[c.Left] = c.Merged;
                dead[c.Right] = true;
                int after = next[c.Right];
                next[c.Left] = after;
                if (after < n) prev[after] = c.Left;
                if (prev[c.Left] >= 0) Push(queue, symbols, prev[c.Left], c.Left, rule);
                if (after < n) Push(queue, symbols, c.Left, after, rule);
            }

            int count = 0;
            for (int i = 0; i < n; i++) if (!dead[i]) symbols[count++] = symbols[i];
            return count;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(prev);
            ArrayPool<int>.Shared.Return(next);
            ArrayPool<bool>.Shared.Return(dead);
        }
    }

    private static void Push<TRule>(PriorityQueue<Candidate, (double, int)> queue, Span<int> symbols, int left, int right,
        in TRule rule) where TRule : struct, IMergeRule
    {
        if (rule.TryMerge(symbols[left], symbols[right], out double p, out int m))
            queue.Enqueue(new Candidate(left, right, symbols[left], symbols[right], m), (p, left));
    }
}
