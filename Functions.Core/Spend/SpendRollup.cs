using Microsoft.Extensions.Logging;

namespace Functions.Core.Spend;

/// <summary>What one rollup run did: the days it rolled (inclusive) and how far the rollup is now final.</summary>
public sealed record RollupRun(DateOnly From, DateOnly To, int DaysRolled, long EntriesRead, DateOnly ClosedThrough);

/// <summary>
/// Rolls the ledger up into per-day rows per caller and model plus a per-day total. Each day is recomputed from
/// its whole ledger partition and written over its previous rows, so a second run gives the same rows and the
/// totals are the ledger's integer sums exactly. A run covers every day from the one after the watermark through
/// today, so days missed while nothing ran are caught up. A day is final (the watermark passes it) once
/// <see cref="LateEntryGrace"/> has gone by after it ended: a call is recorded under the day its attempt started,
/// up to one model call's duration after that.
/// </summary>
public sealed class SpendRollup(SpendLedger ledger, SpendRollups rollups, TimeProvider time, ILogger<SpendRollup> logger)
{
    /// <summary>Longer than any model call lasts (OpenAI:NetworkTimeout is at most 10 minutes a try).</summary>
    public static readonly TimeSpan LateEntryGrace = TimeSpan.FromHours(1);

    public async Task<RollupRun> RunAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var today = SpendKeys.DayOf(now);
        var watermark = await rollups.GetWatermarkAsync(cancellationToken);
        var from = watermark is not null
            ? watermark.ClosedThrough.AddDays(1)
            : await ledger.FirstDayAsync(cancellationToken) ?? today;

        var days = 0;
        var entries = 0L;
        for (var day = from; day <= today; day = day.AddDays(1))
        {
            entries += await RollUpDayAsync(day, cancellationToken);
            days++;
        }

        var closedThrough = SpendKeys.DayOf(now - LateEntryGrace).AddDays(-1);
        if (watermark is not null && watermark.ClosedThrough > closedThrough)
        {
            closedThrough = watermark.ClosedThrough;
        }
        if (!await rollups.TrySaveWatermarkAsync(new RollupWatermark(closedThrough, now, watermark?.ETag ?? default), cancellationToken))
        {
            SpendLog.WatermarkRace(logger);
        }
        SpendLog.RolledUp(logger, days, from, today, entries, closedThrough);
        return new RollupRun(from, today, days, entries, closedThrough);
    }

    private async Task<long> RollUpDayAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var (rows, entries) = await SumDayAsync(day, cancellationToken);
        await rollups.WriteDayAsync(day, rows, cancellationToken);
        return entries;
    }

    /// <summary>A day's rows as the rollup would write them now: the day total first, then one per caller and model.</summary>
    public async Task<IReadOnlyList<RollupRow>> ComputeDayAsync(DateOnly day, CancellationToken cancellationToken) =>
        (await SumDayAsync(day, cancellationToken)).Rows;

    private async Task<(IReadOnlyList<RollupRow> Rows, long Entries)> SumDayAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var total = SpendTotals.Zero;
        var byCallerAndModel = new Dictionary<(string Caller, string Model), SpendTotals>();
        var entries = 0L;
        await foreach (var entry in ledger.ReadDayAsync(day, cancellationToken))
        {
            var key = (entry.Caller, entry.Model);
            byCallerAndModel[key] = byCallerAndModel.GetValueOrDefault(key, SpendTotals.Zero).Add(entry);
            total = total.Add(entry);
            entries++;
        }
        return ([
            new RollupRow(day, null, null, total),
            .. byCallerAndModel.Select(pair => new RollupRow(day, pair.Key.Caller, pair.Key.Model, pair.Value)),
        ], entries);
    }
}
