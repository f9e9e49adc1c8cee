using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Storage;

/// <summary>
/// Creates every table and queue once at start-up, so no request pays for an existence check. The work runs in
/// <see cref="StartingAsync"/>, before any hosted service starts: in Azure before the worker accepts invocations, locally
/// before Kestrel and the queue listeners, so a first invocation on a fresh deployment always finds its tables.
/// </summary>
public sealed class StorageInitializer(
    IEnumerable<TableClient> tables,
    IEnumerable<QueueClient> queues,
    ILogger<StorageInitializer> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        foreach (var table in tables)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
        }
        foreach (var queue in queues)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
        StorageLog.Ready(logger, tables.Count(), queues.Count());
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static partial class StorageLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Storage ready: {TableCount} tables and {QueueCount} queues exist")]
    public static partial void Ready(ILogger logger, int tableCount, int queueCount);
}
