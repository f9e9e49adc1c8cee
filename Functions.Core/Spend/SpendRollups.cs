using Azure;
using Azure.Data.Tables;

namespace Functions.Core.Spend;

/// <summary>One rolled-up row: a day's spend by one caller on one model, or (both null) the day's total.</summary>
public sealed record RollupRow(DateOnly Day, string? Caller, string? Model, SpendTotals Totals)
{
    public bool IsDayTotal => Caller is null;
}

/// <summary>How far the rollup has got: every day up to <see cref="ClosedThrough"/> is final.</summary>
public sealed record RollupWatermark(DateOnly ClosedThrough, DateTimeOffset LastRunAt, ETag ETag = default);

/// <summary>
/// The rollup partitions of the spend table: <c>rollup-yyyyMMdd</c> per day (row <c>total</c> and rows
/// <c>cm|{caller}|{model}</c>), and the watermark in <c>rollup-state</c>.
/// </summary>
public sealed class SpendRollups(SpendTable table)
{
    private const string TotalKey = "total";
    private const string StatePartition = "rollup-state";
    private const string WatermarkKey = "watermark";
    private const int MaxBatch = 100;

    /// <summary>Writes a day's rows, replacing what an earlier run wrote, 100 rows per transaction.</summary>
    public async Task WriteDayAsync(DateOnly day, IReadOnlyCollection<RollupRow> rows, CancellationToken cancellationToken)
    {
        var partition = SpendKeys.Rollup(day);
        foreach (var chunk in rows.Chunk(MaxBatch))
        {
            await table.Client.SubmitTransactionAsync(
                chunk.Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, row))),
                cancellationToken);
        }
    }

    /// <summary>Every row from <paramref name="from"/> to <paramref name="to"/> inclusive, in day order.</summary>
    public async Task<IReadOnlyList<RollupRow>> ReadAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var rows = new List<RollupRow>();
        var filter = SpendKeys.PartitionRange(SpendKeys.Rollup(from), SpendKeys.Rollup(to));
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken))
        {
            rows.Add(FromEntity(entity));
        }
        return rows;
    }

    public async Task<RollupWatermark?> GetWatermarkAsync(CancellationToken cancellationToken)
    {
        var response = await table.Client.GetEntityIfExistsAsync<TableEntity>(StatePartition, WatermarkKey, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        return new RollupWatermark(SpendKeys.ParseDay(entity.GetString("ClosedThrough")), entity.GetDateTimeOffset("LastRunAt") ?? default,
            entity.ETag);
    }

    /// <summary>Saves the watermark unless another run changed it since <paramref name="watermark"/> was read (then theirs stands).</summary>
    public async Task<bool> TrySaveWatermarkAsync(RollupWatermark watermark, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(StatePartition, WatermarkKey)
        {
            ["ClosedThrough"] = SpendKeys.Day(watermark.ClosedThrough),
            ["LastRunAt"] = watermark.LastRunAt,
        };
        try
        {
            if (watermark.ETag == default)
            {
                await table.Client.AddEntityAsync(entity, cancellationToken);
            }
            else
            {
                await table.Client.UpdateEntityAsync(entity, watermark.ETag, TableUpdateMode.Replace, cancellationToken);
            }
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return false;
        }
    }

    private static TableEntity ToEntity(string partition, RollupRow row)
    {
        var totals = row.Totals;
        return new TableEntity(partition,
            row.IsDayTotal ? TotalKey : $"cm|{SpendKeys.Part(row.Caller!)}|{SpendKeys.Part(row.Model ?? "")}")
        {
            ["Caller"] = row.Caller,
            ["Model"] = row.Model,
            ["Calls"] = totals.Calls,
            ["InputTokens"] = totals.InputTokens,
            ["CachedInputTokens"] = totals.CachedInputTokens,
            ["OutputTokens"] = totals.OutputTokens,
            ["CostMicros"] = totals.CostMicros,
            ["CacheHits"] = totals.CacheHits,
            ["SavedMicros"] = totals.SavedMicros,
            ["SummaryCalls"] = totals.SummaryCalls,
            ["SummaryCostMicros"] = totals.SummaryCostMicros,
        };
    }

    private static RollupRow FromEntity(TableEntity entity) => new(
        SpendKeys.ParseDay(entity.PartitionKey[SpendKeys.RollupPrefix.Length..]),
        entity.RowKey == TotalKey ? null : entity.GetString("Caller"),
        entity.RowKey == TotalKey ? null : entity.GetString("Model"),
        new SpendTotals(
            entity.GetInt64("Calls") ?? 0,
            entity.GetInt64("InputTokens") ?? 0,
            entity.GetInt64("CachedInputTokens") ?? 0,
            entity.GetInt64("OutputTokens") ?? 0,
            entity.GetInt64("CostMicros") ?? 0,
            entity.GetInt64("CacheHits") ?? 0,
            entity.GetInt64("SavedMicros") ?? 0,
            entity.GetInt64("SummaryCalls") ?? 0,
            entity.GetInt64("SummaryCostMicros") ?? 0));
}
