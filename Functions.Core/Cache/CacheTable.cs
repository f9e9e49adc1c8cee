using Azure;
using Azure.Data.Tables;
using Functions.Core.Jobs;
using Functions.Core.Storage;

namespace Functions.Core.Cache;

/// <summary>One stored answer: the job that produced it and when it stops being served.</summary>
public sealed record CacheEntry(
    string Key,
    string JobId,
    string Caller,
    JobResult Result,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    DateTimeOffset StoredAt,
    DateTimeOffset ExpiresAt)
{
    /// <summary>How much longer it may answer a request accepting answers up to <paramref name="maxAge"/> old; null if stale.</summary>
    public TimeSpan? FreshFor(TimeSpan maxAge, DateTimeOffset now)
    {
        var remaining = TimeSpan.FromTicks(Math.Min((ExpiresAt - now).Ticks, (StoredAt + maxAge - now).Ticks));
        return remaining > TimeSpan.Zero ? remaining : null;
    }
}

/// <summary>
/// The cache table, one partition per cache key holding at most two rows: <c>answer</c>, the stored answer, and
/// <c>leader</c>, the lease of the job calling the model for that key right now (see <see cref="SingleFlight"/>).
/// Every row carries <c>ExpiresAt</c>; expired rows are removed when read and by <see cref="RemoveExpiredAsync"/>.
/// </summary>
/// <param name="keepExpiredFor">How long past its expiry an answer stays for <see cref="GetStaleAsync"/> (stale-if-error).</param>
public sealed class CacheTable(TableClient table, TimeProvider time, TimeSpan keepExpiredFor = default)
{
    private const string AnswerRow = "answer";
    private const string LeaderRow = "leader";

    /// <summary>
    /// Table Storage holds 64 KiB per property and 1 MiB per entity: an answer is split over properties
    /// (<see cref="TextChunks"/>) up to this size (<see cref="RowOverflow.StringBytes"/>), with room left for the other
    /// properties. Larger answers are not cached: about 500,000 characters of plain text, 170,000 of other scripts.
    /// </summary>
    public const int MaxContentBytes = RowOverflow.MaxRowBytes - 8 * 1024;

    public static bool Fits(string content) => RowOverflow.StringBytes(content) <= MaxContentBytes;

    public TableClient Client => table;

    /// <summary>The stored answer for <paramref name="key"/>, unless there is none or it has expired (it is then removed).</summary>
    public async Task<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(key, AnswerRow, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        var expiresAt = entity.GetDateTimeOffset("ExpiresAt");
        if (expiresAt > time.GetUtcNow())
        {
            return FromEntity(entity);
        }
        if (expiresAt + keepExpiredFor <= time.GetUtcNow())
        {
            await DeleteIfUnchangedAsync(entity, cancellationToken);
        }
        return null;
    }

    /// <summary>The answer for <paramref name="key"/> even when expired (kept <c>keepExpiredFor</c>): the last resort of stale-if-error.</summary>
    public async Task<CacheEntry?> GetStaleAsync(string key, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(key, AnswerRow, cancellationToken: cancellationToken);
        return response.HasValue && response.Value!.GetDateTimeOffset("ExpiresAt") + keepExpiredFor > time.GetUtcNow()
            ? FromEntity(response.Value!)
            : null;
    }

    /// <returns>False when the answer is too large to store.</returns>
    public async Task<bool> StoreAsync(CacheEntry entry, CancellationToken cancellationToken)
    {
        if (!Fits(entry.Result.Content))
        {
            return false;
        }
        await table.UpsertEntityAsync(ToEntity(entry), TableUpdateMode.Replace, cancellationToken);
        return true;
    }

    /// <summary>
    /// Makes <paramref name="jobId"/> the one job calling the model for <paramref name="key"/>. The insert is the lock; a
    /// lease that expired (its leader died or is too slow) or that this job already holds (a redelivery) is taken over
    /// with an ETag-conditional update, so two jobs never both win.
    /// </summary>
    /// <returns>The lease's ETag, or null while another job holds an unexpired lease.</returns>
    public async Task<ETag?> TryLeadAsync(string key, string jobId, TimeSpan lease, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var now = time.GetUtcNow();
            var marker = new TableEntity(key, LeaderRow) { ["LeaderJobId"] = jobId, ["ExpiresAt"] = now + lease };
            try
            {
                return (await table.AddEntityAsync(marker, cancellationToken)).Headers.ETag;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Held: see by whom and until when.
            }

            var current = await table.GetEntityIfExistsAsync<TableEntity>(key, LeaderRow, cancellationToken: cancellationToken);
            if (!current.HasValue)
            {
                continue;
            }
            var held = current.Value!;
            if (held.GetString("LeaderJobId") != jobId && held.GetDateTimeOffset("ExpiresAt") > now)
            {
                return null;
            }
            try
            {
                return (await table.UpdateEntityAsync(marker, held.ETag, TableUpdateMode.Replace, cancellationToken)).Headers.ETag;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Released or taken over meanwhile: look again.
            }
        }
        return null;
    }

    /// <summary>Ends a lease, unless another job has taken it over since.</summary>
    public async Task ReleaseAsync(string key, ETag lease, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(key, LeaderRow, lease, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // Gone or no longer ours.
        }
    }

    /// <summary>Removes expired answers and leases: the rows nobody reads again, which <see cref="GetAsync"/> never sees.</summary>
    public async Task<int> RemoveExpiredAsync(CancellationToken cancellationToken)
    {
        var removed = 0;
        var filter = TableClient.CreateQueryFilter($"ExpiresAt lt {time.GetUtcNow() - keepExpiredFor}");
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"],
                           cancellationToken: cancellationToken))
        {
            removed += await DeleteIfUnchangedAsync(entity, cancellationToken) ? 1 : 0;
        }
        return removed;
    }

    /// <summary>Deletes a row as read; one stored again or re-leased since is left alone.</summary>
    private async Task<bool> DeleteIfUnchangedAsync(TableEntity entity, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, entity.ETag, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
    }

    private static TableEntity ToEntity(CacheEntry entry)
    {
        var entity = new TableEntity(entry.Key, AnswerRow)
        {
            ["JobId"] = entry.JobId,
            ["Caller"] = entry.Caller,
            ["CreatedAt"] = entry.CreatedAt,
            ["CompletedAt"] = entry.CompletedAt,
            ["StoredAt"] = entry.StoredAt,
            ["ExpiresAt"] = entry.ExpiresAt,
            ["Model"] = entry.Result.Model,
            ["FinishReason"] = entry.Result.FinishReason,
            ["InputTokens"] = entry.Result.Usage.InputTokens,
            ["CachedInputTokens"] = entry.Result.Usage.CachedInputTokens,
            ["OutputTokens"] = entry.Result.Usage.OutputTokens,
        };
        TextChunks.Write(entity, "Content", entry.Result.Content);
        return entity;
    }

    private static CacheEntry FromEntity(TableEntity entity) => new(
        entity.PartitionKey,
        entity.GetString("JobId"),
        entity.GetString("Caller"),
        new JobResult(TextChunks.Read(entity, "Content") ?? "", entity.GetString("Model"), entity.GetString("FinishReason"),
            new TokenUsage(entity.GetInt32("InputTokens") ?? 0, entity.GetInt32("CachedInputTokens") ?? 0, entity.GetInt32("OutputTokens") ?? 0)),
        entity.GetDateTimeOffset("CreatedAt")!.Value,
        entity.GetDateTimeOffset("CompletedAt")!.Value,
        entity.GetDateTimeOffset("StoredAt")!.Value,
        entity.GetDateTimeOffset("ExpiresAt")!.Value);
}
