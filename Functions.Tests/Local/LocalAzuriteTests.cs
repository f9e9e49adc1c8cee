using System.Net;
using System.Net.Sockets;
using Functions.Local.Development;
using Microsoft.Extensions.Logging;

namespace Functions.Tests.Local;

/// <summary>
/// An Azurite left running by a killed Functions.Local is reused, and the next start says so. Listeners on loopback
/// stand in for the emulator's ports, and the pid file names a live process (this one), as a killed host leaves it.
/// </summary>
public sealed class LocalAzuriteTests : IDisposable
{
    private readonly string dataFolder = Directory.CreateTempSubdirectory("azurite-").FullName;
    private readonly TcpListener queues = Listen();
    private readonly TcpListener tables = Listen();

    [Fact]
    public async Task AzuriteLeftRunningByAnEarlierHost_IsReused_AndTheStartUpSaysWhichProcessItIs()
    {
        await File.WriteAllTextAsync(Path.Combine(dataFolder, AzuriteProcess.PidFileName), Environment.ProcessId.ToString());

        var choice = await LocalAzurite.EnsureAsync(1, Port(queues), Port(tables), dataFolder);

        Assert.Null(choice.Started);
        Assert.Equal(LogLevel.Warning, choice.Level);
        Assert.Contains($"reusing Azurite already listening on 127.0.0.1:1 (blobs), :{Port(queues)} (queues)", choice.Announcement);
        Assert.Contains($"process {Environment.ProcessId}, started by an earlier Functions.Local", choice.Announcement);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a pid file whose process is gone: not ours any more
    public async Task SomebodyElsesEmulator_IsReused_AndSaidToBeNotOurs(bool stalePidFile)
    {
        if (stalePidFile)
        {
            await File.WriteAllTextAsync(Path.Combine(dataFolder, AzuriteProcess.PidFileName), int.MaxValue.ToString());
        }

        var choice = await LocalAzurite.EnsureAsync(1, Port(queues), Port(tables), dataFolder);

        Assert.Null(choice.Started);
        Assert.Contains("reusing the emulator already listening on", choice.Announcement);
        Assert.Contains("which this host did not start", choice.Announcement);
    }

    private static TcpListener Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    private static int Port(TcpListener listener) => ((IPEndPoint)listener.LocalEndpoint).Port;

    public void Dispose()
    {
        queues.Stop();
        tables.Stop();
        Directory.Delete(dataFolder, recursive: true);
    }
}
