using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Functions.Local.Development;

/// <summary>
/// Azurite, the Azure Storage emulator, run from the repository's node_modules as a child process that dies with us.
/// Port 0 lets Azurite choose free ports; the real ones are read from what it prints.
/// </summary>
public sealed partial class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The well-known Azurite account; public by design, it protects nothing.</summary>
    public const string DevAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Beside the data of an Azurite with a data folder: its process id, removed when it is stopped.</summary>
    public const string PidFileName = "azurite.pid";

    private readonly Process process;
    private string? pidFile;

    private AzuriteProcess(Process process, int blobPort, int queuePort, int tablePort)
    {
        this.process = process;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public int ProcessId => process.Id;

    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }

    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + DevAccountKey + ";" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;" +
        $"QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    /// <param name="dataFolder">Where Azurite keeps its data; null keeps it in memory (tests).</param>
    public static async Task<AzuriteProcess> StartAsync(int blobPort, int queuePort, int tablePort, string? dataFolder,
        CancellationToken cancellationToken = default)
    {
        var script = RepositoryFiles.FindAzuriteScript()
            ?? throw new InvalidOperationException(
                "Azurite is not installed. Run 'npm ci' at the repository root (Node.js 20+), or point AzureWebJobsStorage at a storage account.");

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])
                 [script, "--silent", "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl",
                  "--blobHost", "127.0.0.1", "--blobPort", $"{blobPort}",
                  "--queueHost", "127.0.0.1", "--queuePort", $"{queuePort}",
                  "--tableHost", "127.0.0.1", "--tablePort", $"{tablePort}"])
        {
            start.ArgumentList.Add(argument);
        }
        if (dataFolder is null)
        {
            start.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            Directory.CreateDirectory(dataFolder);
            start.ArgumentList.Add("--location");
            start.ArgumentList.Add(dataFolder);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        var ports = new Dictionary<string, int>();
        var output = new System.Text.StringBuilder();
        var allListening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                allListening.TrySetException(new InvalidOperationException("Azurite exited while starting:\n" + output));
                return;
            }
            lock (ports)
            {
                output.AppendLine(e.Data);
                if (ListeningLine().Match(e.Data) is { Success: true } match)
                {
                    ports[match.Groups[1].Value] = int.Parse(match.Groups[2].Value);
                    if (ports.Count == 3)
                    {
                        allListening.TrySetResult();
                    }
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (ports) { output.AppendLine(e.Data); }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await allListening.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch
        {
            Kill(process);
            throw;
        }
        var azurite = new AzuriteProcess(process, ports["Blob"], ports["Queue"], ports["Table"]);
        if (dataFolder is not null)
        {
            azurite.pidFile = Path.Combine(dataFolder, PidFileName);
            await File.WriteAllTextAsync(azurite.pidFile, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        }
        return azurite;
    }

    public async ValueTask DisposeAsync()
    {
        Kill(process);
        await process.WaitForExitAsync();
        process.Dispose();
        if (pidFile is not null)
        {
            File.Delete(pidFile);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>
    /// Whether something accepts connections on the loopback port. Asked without blocking a thread: on a busy machine a
    /// blocked wait for the connect's continuation timed out although the port was listening.
    /// </summary>
    public static async Task<bool> IsListeningAsync(int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"Azurite (Blob|Queue|Table) service is successfully listening at https?://[^:]+:(\d+)")]
    private static partial Regex ListeningLine();
}
