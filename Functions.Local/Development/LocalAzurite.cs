using System.Diagnostics;

namespace Functions.Local.Development;

/// <summary>What <see cref="LocalAzurite.EnsureAsync"/> did: the Azurite it started (null when it reused one) and what to tell the user.</summary>
public sealed record AzuriteChoice(AzuriteProcess? Started, LogLevel Level, string Announcement);

/// <summary>
/// The emulator behind <c>UseDevelopmentStorage=true</c>: reused when something already listens on its ports, else
/// started. An Azurite this host starts leaves its process id next to its data until it is stopped, so a later start
/// can tell one left running by a host that was killed (SIGKILL skips every shutdown hook) from somebody else's
/// emulator, and says which.
/// </summary>
public static class LocalAzurite
{
    public static async Task<AzuriteChoice> EnsureAsync(int blobPort, int queuePort, int tablePort, string? dataFolder)
    {
        var ports = $"127.0.0.1:{blobPort} (blobs), :{queuePort} (queues) and :{tablePort} (tables)";
        if (await AzuriteProcess.IsListeningAsync(queuePort) && await AzuriteProcess.IsListeningAsync(tablePort))
        {
            return LeftRunning(dataFolder) is { } pid
                ? new AzuriteChoice(null, LogLevel.Warning,
                    $"Storage: reusing Azurite already listening on {ports}: process {pid}, started by an earlier Functions.Local " +
                    $"that did not stop cleanly (data in {dataFolder}). It keeps running after this host stops; end it with 'kill {pid}'.")
                : new AzuriteChoice(null, LogLevel.Information,
                    $"Storage: reusing the emulator already listening on {ports}, which this host did not start; it keeps running after this host stops.");
        }

        var azurite = await AzuriteProcess.StartAsync(blobPort, queuePort, tablePort, dataFolder);
        return new AzuriteChoice(azurite, LogLevel.Information,
            $"Storage: started Azurite on {ports} ({(dataFolder is null ? "in memory" : "data in " + dataFolder)}); it stops with this host.");
    }

    /// <summary>The id in the pid file, when that process is still alive.</summary>
    private static int? LeftRunning(string? dataFolder)
    {
        var file = dataFolder is null ? null : Path.Combine(dataFolder, AzuriteProcess.PidFileName);
        if (file is null || !File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), out var pid))
        {
            return null;
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited ? null : pid;
        }
        catch (ArgumentException)
        {
            return null; // no such process any more
        }
    }
}
