using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Functions.Local.Development;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// Functions.Local as a process of its own (<c>dotnet Functions.Local.dll</c>, as a published host runs): for what only
/// a real process shows (its exit code and console, how it picks its environment) and for killing it with SIGKILL.
/// Its environment is this process's minus every setting the host reads, plus <paramref name="environment"/>.
/// </summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    private static readonly string[] Inherited = ["PATH", "HOME", "DOTNET_ROOT", "DOTNET_CLI_HOME", "TMPDIR", "NUGET_PACKAGES"];

    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();
    private readonly TaskCompletionSource<string> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LocalHostProcess(Process process) => this.process = process;

    /// <summary>Every line it wrote, stdout and stderr together.</summary>
    public IReadOnlyCollection<string> Output => output;

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>The host's build output next to this test's (same configuration).</summary>
    public static string DllPath
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name; // …/bin/Debug/net10.0
            return Path.Combine(RepositoryFiles.FindRoot()!, "Functions.Local", "bin", configuration, "net10.0", "Functions.Local.dll");
        }
    }

    public static LocalHostProcess Start(IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(DllPath);
        start.Environment.Clear();
        foreach (var name in Inherited)
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                start.Environment[name] = value;
            }
        }
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var host = new LocalHostProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet."));
        host.process.OutputDataReceived += (_, e) => host.Read(e.Data);
        host.process.ErrorDataReceived += (_, e) => host.Read(e.Data);
        host.process.BeginOutputReadLine();
        host.process.BeginErrorReadLine();
        return host;
    }

    /// <summary>The URL it listens on, once it says so; throws if it exits first.</summary>
    public async Task<Uri> WaitUntilListeningAsync(TimeSpan? timeout = null)
    {
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(listening.Task, exited).WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        if (first == exited && !listening.Task.IsCompleted)
        {
            throw new InvalidOperationException($"Functions.Local exited ({process.ExitCode}) before listening:\n{string.Join('\n', output)}");
        }
        return new Uri(await listening.Task);
    }

    /// <summary>The exit code, once it has stopped by itself.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        await process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        process.WaitForExit(); // drains the redirected output
        return process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown hooks, no draining, no lease release; exactly a crashed instance.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: false);
        }
        await process.WaitForExitAsync();
    }

    /// <summary>A free loopback port for the host to listen on.</summary>
    public static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private void Read(string? line)
    {
        if (line is null)
        {
            return;
        }
        output.Enqueue(line);
        const string marker = "Now listening on: ";
        var at = line.IndexOf(marker, StringComparison.Ordinal);
        if (at >= 0)
        {
            listening.TrySetResult(line[(at + marker.Length)..].Trim());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }
}
