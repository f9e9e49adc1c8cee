using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Functions.Tests.Infra;

public sealed record BicepResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// The Bicep CLI that restore installs from NuGet (Azure.Bicep.CommandLine.linux-x64), run as a process. The test
/// project passes its path, and the repository root, as assembly metadata (see Functions.Tests.csproj).
/// </summary>
internal static class BicepCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static string RepositoryRoot { get; } = Path.GetFullPath(Metadata("RepositoryRoot"));

    public static async Task<BicepResult> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(ExecutablePath())
        {
            WorkingDirectory = RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var standardOutput = process.StandardOutput.ReadToEndAsync();
        var standardError = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within {Timeout}.");
        }

        return new BicepResult(process.ExitCode, await standardOutput, await standardError);
    }

    private static string ExecutablePath()
    {
        // The package holds a linux-x64 binary; elsewhere use a Bicep CLI on the PATH (e.g. from 'az bicep install').
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            return "bicep";
        }

        var path = Metadata("BicepCliPath");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The Bicep CLI is not at '{path}'. Run 'dotnet restore' (package Azure.Bicep.CommandLine.linux-x64).");
        }

        // NuGet does not always keep the executable bit when it extracts a package.
        var mode = File.GetUnixFileMode(path);
        if (!mode.HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        return path;
    }

    private static string Metadata(string key) =>
        typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(attribute => attribute.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata '{key}' is missing (set in Functions.Tests.csproj).");
}
