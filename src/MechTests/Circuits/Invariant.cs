using System.Globalization;

namespace MechTests.Circuits;

/// <summary>Invariant-culture formatting shared by parameters, messages and files, so output never depends on the machine's locale.</summary>
internal static class Invariant
{
    /// <summary>Shortest round-trip text of a double.</summary>
    public static string R(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Short text for messages (6 significant digits).</summary>
    public static string G(double x) => x.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>Integer text.</summary>
    public static string I(int x) => x.ToString(CultureInfo.InvariantCulture);
}
