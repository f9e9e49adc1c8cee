using System.Diagnostics;
using System.Net.Sockets;

/// <summary>
/// The Portkey AI gateway (npm <c>@portkey-ai/gateway</c>), the peer: installed into <c>.peers/</c> on first run and
/// started on a free port, forwarding to the same model through its <c>x-portkey-custom-host</c> header.
/// </summary>
internal sealed class Portkey : IAsyncDisposable
{
    public const string Version = "1.15.2";
    private readonly Process process;

    private Portkey(Process process, int port)
    {
        this.process = process;
        BaseUrl = new Uri($"http://127.0.0.1:{port}/v1/");
    }

    public Uri BaseUrl { get; }

    public int ProcessId => process.Id;

    public static async Task<Portkey?> StartAsync(string folder)
    {
        var server = Path.Combine(folder, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
        if (!File.Exists(server))
        {
            Console.WriteLine($"Installing @portkey-ai/gateway@{Version} into {folder} ...");
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, "package.json"), "{\"private\":true}");
            using var install = Process.Start(new ProcessStartInfo("npm", $"install --no-audit --no-fund --loglevel=error @portkey-ai/gateway@{Version}")
            {
                WorkingDirectory = folder,
            })!;
            await install.WaitForExitAsync();
            if (install.ExitCode != 0 || !File.Exists(server))
            {
                Console.WriteLine("Portkey could not be installed; its rows are left out.");
                return null;
            }
        }

        var port = FreePort();
        var process = Process.Start(new ProcessStartInfo("node", $"\"{server}\" --port={port}")
        {
            WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return new Portkey(process, port);
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        process.Kill(entireProcessTree: true);
        Console.WriteLine("Portkey did not start; its rows are left out.");
        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        process.Kill(entireProcessTree: true);
        process.Dispose();
        return ValueTask.CompletedTask;
    }
}
