using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit;

namespace MechTests.Reports.Tests;

/// <summary>
/// The system's headless Chromium and chromedriver (Debian: <c>apt-get install -y chromium chromium-driver</c>, which
/// .ci/run does). Paths can be overridden with MECHTESTS_CHROMIUM and MECHTESTS_CHROMEDRIVER. Nothing is downloaded:
/// both paths are given to Selenium, so Selenium Manager is never asked for a driver.
/// </summary>
internal static class Browser
{
    public const string InstallHint = "no headless Chromium found; install it with: sudo apt-get install -y chromium chromium-driver (or set MECHTESTS_CHROMIUM and MECHTESTS_CHROMEDRIVER)";

    public static string? ChromiumPath => First(Environment.GetEnvironmentVariable("MECHTESTS_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome");

    public static string? DriverPath => First(Environment.GetEnvironmentVariable("MECHTESTS_CHROMEDRIVER"), "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");

    public static bool Available => ChromiumPath != null && DriverPath != null;

    private static string? First(params string?[] paths) => paths.FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));

    /// <summary>A fresh browser with its own profile; console and network events recorded.</summary>
    public static ChromeDriver Start(string profileDir)
    {
        if (!Available) throw new InvalidOperationException(InstallHint);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath)!);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1200,1400", $"--user-data-dir={profileDir}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        options.SetLoggingPreference("performance", LogLevel.All);
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }
}

/// <summary>
/// A fact that needs the browser: skipped with the install hint where none is installed, except on CI
/// (<c>CI=true</c>), where the browser is part of the machine and its absence must fail.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>Skips when no browser is installed and this is not CI.</summary>
    public BrowserFactAttribute()
    {
        bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) || Environment.GetEnvironmentVariable("CI") == "1";
        if (!Browser.Available && !ci) Skip = Browser.InstallHint;
    }
}
