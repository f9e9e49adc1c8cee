using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Functions.Core.Jobs;
using Functions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Spend;

/// <summary>
/// One model call (with its job and attempt), or one cache hit that saved a call, as the ledger holds it.
/// <see cref="Model"/> is the id the API returned; <see cref="PricedAs"/> the price entry used, or "fallback".
/// </summary>
public sealed record LedgerEntry(
    string Kind,
    string Caller,
    string Model,
    string PricedAs,
    TokenUsage Usage,
    long CostMicros,
    DateTimeOffset OccurredAt,
    string? JobId = null,
    int? Attempt = null,
    string? Route = null,
    string? RouteReason = null)
{
    public const string Call = "call";
    public const string Saving = "saving";

    /// <summary>A model call that extended a conversation's summary: spend like any call, and counted apart as a summary.</summary>
    public const string Summary = "summary";
}

/// <summary>A cache hit waiting to be written to the ledger as a saving.</summary>
public sealed record CacheSaving(string Id, string Caller, string Model, TokenUsage Usage, DateTimeOffset OccurredAt);

/// <summary>
/// The spend ledger: one entity per model call, inserted (never updated) under a key that the call determines, so
/// a redelivered message or a retried write finds 409 "already recorded" instead of counting twice.
/// A call lives in the partition of the UTC day its attempt started (<see cref="Job.StartedAt"/>, fixed for the
/// attempt), so even a retry of the same write across midnight lands on the same key.
/// </summary>
public sealed class SpendLedger(SpendTable table, PriceTable prices, TimeProvider time, ILogger<SpendLedger> logger)
{
    /// <summary>
    /// Records the model call of <paramref name="job"/>'s current attempt; returns its cost in micro-dollars. It takes no
    /// cancellation: a paid call is recorded even while the host stops.
    /// </summary>
    /// <param name="kind"><see cref="LedgerEntry.Call"/>, or <see cref="LedgerEntry.Summary"/> for a conversation's summary call.</param>
    public async Task<long> RecordCallAsync(Job job, JobResult result, string kind = LedgerEntry.Call)
    {
        var startedAt = StartedAt(job);
        var cost = prices.Cost(result.Model, result.Usage, startedAt);
        var entry = new LedgerEntry(kind, job.Caller, result.Model, cost.PricedAs, result.Usage, cost.Micros, time.GetUtcNow(),
            job.Id, job.ModelCalls, job.Request.Route?.Route, RouteReason(job.Request.Route));
        var key = $"{kind}|{job.Id}|{job.ModelCalls:D3}";
        if (!await TryAddAsync(SpendKeys.DayOf(startedAt), key, entry))
        {
            SpendLog.CallAlreadyRecorded(logger, job.Id, job.ModelCalls);
        }
        return cost.Micros;
    }

    /// <summary>What <see cref="RecordCallAsync"/> records as the call's cost, in micro-dollars: priced as of the attempt's start.</summary>
    public long CostOf(Job job, JobResult result) => prices.Cost(result.Model, result.Usage, StartedAt(job)).Micros;

    private static DateTimeOffset StartedAt(Job job) => job.StartedAt ?? job.CreatedAt;

    /// <summary>Why this call's model: the route's reason, and the fallbacks taken to reach it.</summary>
    private static string? RouteReason(Routing.RoutePlan? plan) => plan is null ? null
        : plan.Fallbacks is { Count: > 0 } fallbacks
            ? $"{plan.Reason}; fell back from {string.Join(", ", fallbacks.Select(f => $"{f.Model} ({f.Code})"))}"
            : plan.Reason;

    /// <summary>
    /// Records a cache hit as the spend it avoided: what <paramref name="usage"/> would have cost on
    /// <paramref name="model"/>. Idempotent per <paramref name="savingId"/> within a UTC day; returns the saving.
    /// </summary>
    public async Task<long> RecordSavingAsync(string caller, string model, TokenUsage usage, string savingId)
    {
        var now = time.GetUtcNow();
        var cost = prices.Cost(model, usage, now);
        var entry = new LedgerEntry(LedgerEntry.Saving, caller, model, cost.PricedAs, usage, cost.Micros, now);
        await TryAddAsync(SpendKeys.DayOf(now), "saving|" + SpendKeys.Part(savingId), entry);
        return cost.Micros;
    }

    /// <summary>
    /// Records many cache hits at once, priced as they occurred, a hundred rows of a day a transaction. They are written
    /// beside the paid calls' group commit, not through it, so a flush of savings never holds up a paid call's row.
    /// </summary>
    public async Task RecordSavingsAsync(IReadOnlyList<CacheSaving> savings)
    {
        var rows = savings.Select(saving =>
        {
            var cost = prices.Cost(saving.Model, saving.Usage, saving.OccurredAt);
            return ToEntity(SpendKeys.Ledger(SpendKeys.DayOf(saving.OccurredAt)), "saving|" + SpendKeys.Part(saving.Id),
                new LedgerEntry(LedgerEntry.Saving, saving.Caller, saving.Model, cost.PricedAs, saving.Usage, cost.Micros, saving.OccurredAt));
        });
        foreach (var day in rows.GroupBy(row => row.PartitionKey))
        {
            foreach (var batch in day.DistinctBy(row => row.RowKey).Chunk(100))
            {
                await InsertAsync(table.Client, batch);
            }
        }
    }

    public async IAsyncEnumerable<LedgerEntry> ReadDayAsync(DateOnly day, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = $"PartitionKey eq '{SpendKeys.Ledger(day)}'";
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, maxPerPage: 1000, Columns, cancellationToken))
        {
            yield return FromEntity(entity);
        }
    }

    /// <summary>The earliest day with a ledger entry, if any (partitions come back in key order).</summary>
    public async Task<DateOnly?> FirstDayAsync(CancellationToken cancellationToken)
    {
        var filter = SpendKeys.PartitionRange(SpendKeys.LedgerPrefix, SpendKeys.LedgerPrefix + "~");
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, maxPerPage: 1, ["PartitionKey"], cancellationToken))
        {
            return SpendKeys.ParseDay(entity.PartitionKey[SpendKeys.LedgerPrefix.Length..]);
        }
        return null;
    }

    /// <summary>Not cancelled once asked: a paid call is recorded even while the host shuts down.</summary>
    private Task<bool> TryAddAsync(DateOnly day, string rowKey, LedgerEntry entry) =>
        inserts.CommitAsync(SpendKeys.Ledger(day), ToEntity(SpendKeys.Ledger(day), rowKey, entry));

    /// <summary>
    /// Every row of the ledger is an insert, and the rows of a day share a partition: the inserts that arrive while one
    /// is in flight go together in one transaction (group commit), so a busy instance writes the ledger once per batch,
    /// not once per call. Each row's key is its call's (or saving's), so a transaction is refused whole (409) only when a
    /// row is already there, a repeat: the batch is then written row by row, and the repeat is told it was already recorded.
    /// </summary>
    private readonly GroupCommit<TableEntity, bool> inserts = new(100, row => row.RowKey, rows => InsertAsync(table.Client, rows));

    /// <summary>How many ledger rows of <paramref name="partition"/> wait for a transaction (for tests).</summary>
    internal int Waiting(string partition) => inserts.Waiting(partition);

    /// <returns>For each row, whether it was added (false: it was already there).</returns>
    private static async Task<IReadOnlyList<bool>> InsertAsync(TableClient client, IReadOnlyList<TableEntity> rows)
    {
        if (rows.Count > 1)
        {
            try
            {
                await client.SubmitTransactionAsync(rows.Select(row => new TableTransactionAction(TableTransactionActionType.Add, row)));
                return [.. rows.Select(_ => true)];
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409)
            {
                // A row was already there (a redelivery, or a write whose outcome was unknown): one by one instead.
            }
        }
        var added = new List<bool>(rows.Count);
        foreach (var row in rows)
        {
            try
            {
                await client.AddEntityAsync(row);
                added.Add(true);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                added.Add(false);
            }
        }
        return added;
    }

    private static readonly string[] Columns =
        ["Kind", "Caller", "Model", "PricedAs", "InputTokens", "CachedInputTokens", "OutputTokens", "UsageEstimated", "CostMicros", "OccurredAt", "JobId", "Attempt", "Route", "RouteReason"];

    /// <summary>The ledger's row for <paramref name="entry"/> (public for tools that load ledgers in bulk, such as the benchmark).</summary>
    public static TableEntity ToEntity(string partition, string rowKey, LedgerEntry entry) => new(partition, rowKey)
    {
        ["Kind"] = entry.Kind,
        ["Caller"] = entry.Caller,
        ["Model"] = entry.Model,
        ["PricedAs"] = entry.PricedAs,
        ["InputTokens"] = entry.Usage.InputTokens,
        ["CachedInputTokens"] = entry.Usage.CachedInputTokens,
        ["OutputTokens"] = entry.Usage.OutputTokens,
        // The endpoint never reported this call's usage (a stream cut short): counted by the tokenizer instead.
        ["UsageEstimated"] = entry.Usage.Estimated,
        ["CostMicros"] = entry.CostMicros,
        ["OccurredAt"] = entry.OccurredAt,
        ["JobId"] = entry.JobId,
        ["Attempt"] = entry.Attempt,
        ["Route"] = entry.Route,
        ["RouteReason"] = entry.RouteReason,
    };

    private static LedgerEntry FromEntity(TableEntity entity) => new(
        entity.GetString("Kind"),
        entity.GetString("Caller"),
        entity.GetString("Model"),
        entity.GetString("PricedAs"),
        new TokenUsage(entity.GetInt32("InputTokens") ?? 0, entity.GetInt32("CachedInputTokens") ?? 0, entity.GetInt32("OutputTokens") ?? 0,
            entity.GetBoolean("UsageEstimated") ?? false),
        entity.GetInt64("CostMicros") ?? 0,
        entity.GetDateTimeOffset("OccurredAt") ?? default,
        entity.GetString("JobId"),
        entity.GetInt32("Attempt"),
        entity.GetString("Route"),
        entity.GetString("RouteReason"));
}
