using System.Globalization;
using Azure.Data.Tables;
using Functions.Core.Spend;

namespace Functions.Core.Telemetry;

/// <summary>
/// Every instance's <see cref="HealthCounts"/> per minute, in the spend table: partition <c>health-{yyyyMMddHH}</c>, row
/// <c>{mm}|{instance}</c>, so a window is one range query per hour it touches. Closed hours are summed once into
/// <c>health-hours</c> rows, the trailing average of unusual-spend alerts.
/// </summary>
public sealed class HealthCountersTable(SpendTable table)
{
    private const string HoursPartition = "health-hours";

    public Task UpsertAsync(string instance, DateTimeOffset minute, HealthCounts counts, CancellationToken cancellationToken) =>
        table.Client.UpsertEntityAsync(ToEntity(Partition(minute), $"{minute.UtcDateTime.ToString("mm", CultureInfo.InvariantCulture)}|{instance}", counts), TableUpdateMode.Replace,
            cancellationToken);

    /// <summary>The sum of every instance's minutes from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive).</summary>
    public async Task<HealthCounts> SumAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var total = HealthCounts.Zero;
        for (var hour = HourOf(from); hour < to; hour = hour.AddHours(1))
        {
            var first = from > hour ? from : hour;
            var end = to < hour.AddHours(1) ? to : hour.AddHours(1);
            var filter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {Partition(hour)} and RowKey ge {first.UtcDateTime.ToString("mm", CultureInfo.InvariantCulture)} and RowKey lt {RowBound(end, hour)}");
            await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
            {
                total = total.Add(FromEntity(entity));
            }
        }
        return total;
    }

    /// <summary>One closed hour's total: read once from its summary row, or summed from its minutes and stored.</summary>
    public async Task<HealthCounts> ClosedHourAsync(DateTimeOffset hour, CancellationToken cancellationToken)
    {
        var key = hour.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
        var stored = await table.Client.GetEntityIfExistsAsync<TableEntity>(HoursPartition, key, cancellationToken: cancellationToken);
        if (stored.HasValue)
        {
            return FromEntity(stored.Value!);
        }
        var total = await SumAsync(hour, hour.AddHours(1), cancellationToken);
        await table.Client.UpsertEntityAsync(ToEntity(HoursPartition, key, total), TableUpdateMode.Replace, cancellationToken);
        return total;
    }

    private static DateTimeOffset HourOf(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    private static string Partition(DateTimeOffset at) => "health-" + at.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);

    /// <summary>The exclusive upper row bound within <paramref name="hour"/>: "60" (past every minute) when the range ends at the hour's end.</summary>
    private static string RowBound(DateTimeOffset end, DateTimeOffset hour) =>
        end >= hour.AddHours(1) ? "60" : end.UtcDateTime.ToString("mm", CultureInfo.InvariantCulture);

    private static TableEntity ToEntity(string partition, string row, HealthCounts counts) => new(partition, row)
    {
        ["Calls"] = counts.Calls,
        ["RateLimited"] = counts.RateLimited,
        ["ServerErrors"] = counts.ServerErrors,
        ["CircuitOpens"] = counts.CircuitOpens,
        ["Poisoned"] = counts.Poisoned,
        ["CostMicros"] = counts.CostMicros,
    };

    private static HealthCounts FromEntity(TableEntity entity) => new(
        entity.GetInt64("Calls") ?? 0,
        entity.GetInt64("RateLimited") ?? 0,
        entity.GetInt64("ServerErrors") ?? 0,
        entity.GetInt64("CircuitOpens") ?? 0,
        entity.GetInt64("Poisoned") ?? 0,
        entity.GetInt64("CostMicros") ?? 0);
}
