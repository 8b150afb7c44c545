using System.Globalization;

namespace MechTests.FluentAssertions;

/// <summary>Number formatting for failure messages: invariant culture, 6 significant digits (as circuit files).</summary>
internal static class Num
{
    public static string G(double x) => double.IsNaN(x) ? "NaN" : x.ToString("G6", CultureInfo.InvariantCulture);

    public static string I(int x) => x.ToString(CultureInfo.InvariantCulture);
}
