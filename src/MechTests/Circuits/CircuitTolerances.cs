namespace MechTests.Circuits;

/// <summary>
/// How far two measurements may differ and still count as the same when a circuit file is verified: a value passes
/// when |a − b| ≤ absolute + <see cref="Relative"/> · max(|a|, |b|). The defaults sit far above cross-CPU float noise
/// (~1e-6 relative) and above the 6-significant-digit rounding of the file, and far below real changes.
/// </summary>
/// <param name="Score">Absolute tolerance of edge and node scores.</param>
/// <param name="Faithfulness">Absolute tolerance of normalised values (faithfulness, CPR, CMD, drops).</param>
/// <param name="Metric">Absolute tolerance of values in task-metric units (clean, corrupted, circuit metric, incompleteness).</param>
/// <param name="Relative">Relative tolerance added to each of the above.</param>
public sealed record CircuitTolerances(double Score = 1e-5, double Faithfulness = 1e-3, double Metric = 1e-4, double Relative = 1e-4)
{
    /// <summary>The defaults.</summary>
    public static CircuitTolerances Default { get; } = new();

    /// <summary>Whether a and b agree within absolute + relative tolerance (NaN equals NaN).</summary>
    public bool Within(double a, double b, double absolute)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return double.IsNaN(a) && double.IsNaN(b);
        if (a == b) return true;
        return Math.Abs(a - b) <= absolute + Relative * Math.Max(Math.Abs(a), Math.Abs(b));
    }

    /// <summary>The absolute tolerance of a metric unit.</summary>
    public double ForUnit(string unit) => unit == MetricUnits.Metric ? Metric : Faithfulness;
}
