using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Functions.Core.Storage;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// The job-stream table: one partition per job, one row per batch of deltas (<see cref="StreamEntry"/>), so any
/// instance can serve any job's stream and a stream costs a write per batch, not per token. Rows are immutable once
/// written: a write that is retried writes the same row again.
/// </summary>
public sealed class JobStreamTable(TableClient table)
{
    private const int MaxBatch = 100; // entity-group transactions hold at most 100 operations
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public TableClient Client => table;

    public Task WriteAsync(string jobId, StreamEntry entry, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(jobId, entry.RowKey) { ["After"] = entry.After };
        if (entry.RestartAttempt is { } attempt)
        {
            entity["RestartAttempt"] = attempt;
        }
        else
        {
            TextChunks.Write(entity, "Deltas", JsonSerializer.Serialize(entry.Deltas, Json));
        }
        return table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>The job's rows after row key <paramref name="afterRowKey"/> (empty: all of them), in log order.</summary>
    public async Task<IReadOnlyList<(string RowKey, StreamEntry Entry)>> ReadAsync(string jobId, string afterRowKey,
        CancellationToken cancellationToken)
    {
        var rows = new List<(string, StreamEntry)>();
        await foreach (var entity in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {jobId} and RowKey gt {afterRowKey}"), cancellationToken: cancellationToken))
        {
            rows.Add((entity.RowKey, FromEntity(entity)));
        }
        return rows;
    }

    /// <summary>Where the job's log ends: its last delta id (0 when there is none) and whether a restart marker closes it.</summary>
    public async Task<(long LastId, bool EndsWithRestart)> TailAsync(string jobId, CancellationToken cancellationToken)
    {
        string? last = null;
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {jobId}"),
                           select: ["RowKey"], cancellationToken: cancellationToken))
        {
            last = entity.RowKey;
        }
        return last is null ? (0, false) : StreamEntry.ParseKey(last);
    }

    /// <summary>Deletes a job's stream (it holds the job's answer, so it goes with the job); returns how many rows.</summary>
    public async Task<int> RemoveAsync(string jobId, CancellationToken cancellationToken)
    {
        var removed = 0;
        var batch = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {jobId}"),
                           select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            if (batch.Count == MaxBatch)
            {
                removed += await DeleteAsync(batch, cancellationToken);
                batch.Clear();
            }
            batch.Add(entity);
        }
        return removed + await DeleteAsync(batch, cancellationToken);
    }

    /// <summary>Deletes every row last written before <paramref name="cutoff"/>, a partition's rows together; returns how many.</summary>
    public async Task<int> RemoveWrittenBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var removed = 0;
        var batch = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"Timestamp lt {cutoff}"),
                           select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            if (batch.Count == MaxBatch || (batch.Count > 0 && batch[0].PartitionKey != entity.PartitionKey))
            {
                removed += await DeleteAsync(batch, cancellationToken);
                batch.Clear();
            }
            batch.Add(entity);
        }
        return removed + await DeleteAsync(batch, cancellationToken);
    }

    /// <summary>One transaction for the rows of one partition; one by one when another sweep removed some first.</summary>
    private async Task<int> DeleteAsync(List<TableEntity> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        try
        {
            await table.SubmitTransactionAsync(rows.Select(row => new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All)),
                cancellationToken);
            return rows.Count;
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 404)
        {
            var removed = 0;
            foreach (var row in rows)
            {
                try
                {
                    removed += (await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken)).Status == 204 ? 1 : 0;
                }
                catch (RequestFailedException gone) when (gone.Status == 404)
                {
                    // removed by the other sweep
                }
            }
            return removed;
        }
    }

    private static StreamEntry FromEntity(TableEntity entity) =>
        new(entity.GetInt64("After") ?? 0,
            TextChunks.Read(entity, "Deltas") is { } deltas ? JsonSerializer.Deserialize<List<string>>(deltas, Json) ?? [] : [],
            entity.GetInt32("RestartAttempt"));
}
