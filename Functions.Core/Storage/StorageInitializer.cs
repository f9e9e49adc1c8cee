using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Storage;

/// <summary>Creates every table and queue once at start-up, so no request pays for an existence check.</summary>
public sealed class StorageInitializer(
    IEnumerable<TableClient> tables,
    IEnumerable<QueueClient> queues,
    ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
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

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static partial class StorageLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Storage ready: {TableCount} tables and {QueueCount} queues exist")]
    public static partial void Ready(ILogger logger, int tableCount, int queueCount);
}
