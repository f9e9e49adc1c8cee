using System.Diagnostics;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// The browser of the browser tests: Debian's own <c>chromium</c> package, installed with apt when a fresh machine (or CI)
/// lacks it. Nothing is downloaded from anywhere but the distribution's archive: no test tool's own browser build.
/// </summary>
public static class DebianChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>
    /// Flags that keep a headless Chromium quiet on a machine with no network but loopback: no GPU, no QUIC, and none of
    /// the background fetches (updates, sync, safe browsing lists) that would otherwise be refused many times a start.
    /// </summary>
    public static readonly string[] Flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private static readonly SemaphoreSlim Installing = new(1, 1);

    public static async Task EnsureInstalledAsync()
    {
        if (File.Exists(ExecutablePath))
        {
            return;
        }
        await Installing.WaitAsync();
        try
        {
            if (File.Exists(ExecutablePath))
            {
                return;
            }
            if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/apt-get"))
            {
                throw new InvalidOperationException(
                    $"The browser tests need Debian's chromium at {ExecutablePath}; install it (apt-get install chromium).");
            }
            await AptGetAsync("update");
            await AptGetAsync("install", "-y", "chromium");
            if (!File.Exists(ExecutablePath))
            {
                throw new InvalidOperationException($"apt-get installed chromium, but {ExecutablePath} is still missing.");
            }
        }
        finally
        {
            Installing.Release();
        }
    }

    /// <summary>apt-get as CI runs it: as root, with no terminal and nothing on standard input.</summary>
    private static async Task AptGetAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("apt-get")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["DEBIAN_FRONTEND"] = "noninteractive" },
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start apt-get.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"apt-get {string.Join(' ', arguments)} failed ({process.ExitCode}); as root? {await errors}\n{await output}");
        }
    }
}
