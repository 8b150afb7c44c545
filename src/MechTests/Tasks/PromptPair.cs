namespace MechTests.Tasks;

/// <summary>A clean/corrupted prompt pair resolved to token ids, with its answer ids.</summary>
/// <param name="Index">Position of the pair in the task file (0-based), used in every message about it.</param>
/// <param name="Clean">Clean prompt tokens.</param>
/// <param name="Corrupted">Corrupted prompt tokens (same length).</param>
/// <param name="Correct">Ids counted as correct answers.</param>
/// <param name="Wrong">Ids counted as wrong answers (may be empty for kl/logprob).</param>
public sealed record PromptPair(int Index, int[] Clean, int[] Corrupted, int[] Correct, int[] Wrong)
{
    /// <summary>Number of tokens of each prompt.</summary>
    public int Length => Clean.Length;
}
