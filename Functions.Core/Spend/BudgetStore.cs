using Azure;
using Azure.Data.Tables;

namespace Functions.Core.Spend;

/// <summary>
/// A budget's running totals within one window: <see cref="ReservedMicros"/> held by requests still in flight
/// (their worst case) and <see cref="SpentMicros"/> settled at real cost. A new request fits if
/// spent + reserved + its worst case stays within the limit.
/// </summary>
public sealed record BudgetCounter(string RowKey, string? Caller, long ReservedMicros, long SpentMicros, ETag ETag = default);

/// <summary>
/// What one job holds against one window's counters. It lives in the counters' partition, so a reservation and its
/// counters change together in one entity-group transaction: settled (or released) exactly once per attempt.
/// </summary>
public sealed record BudgetReservation(
    string JobId,
    string Caller,
    IReadOnlyList<string> Counters,
    long HeldMicros,
    string State,
    string SettledAttempts,
    long SpentMicros,
    ETag ETag = default)
{
    public const string Reserved = "Reserved";
    public const string Settled = "Settled";
    public const string Released = "Released";

    public bool IsSettled(int attempt) => SettledAttempts.Contains($",{attempt},", StringComparison.Ordinal);
}

/// <summary>The budget partitions of the spend table: <c>budget-day-yyyyMMdd</c> and <c>budget-month-yyyyMM</c>.</summary>
public sealed class BudgetStore(SpendTable table)
{
    private const string CounterPrefix = "counter|";

    public static string Partition(BudgetWindow window) => "budget-" + window.Key;

    public static string ReservationKey(string jobId) => "reservation|" + jobId;

    public async Task<BudgetCounter?> GetCounterAsync(BudgetWindow window, string rowKey, CancellationToken cancellationToken)
    {
        var response = await table.Client.GetEntityIfExistsAsync<TableEntity>(Partition(window), rowKey, cancellationToken: cancellationToken);
        return response.HasValue ? ToCounter(response.Value!) : null;
    }

    /// <summary>Every counter of a window: the global one and one per caller that has spent or reserved in it.</summary>
    public async Task<IReadOnlyList<BudgetCounter>> GetCountersAsync(BudgetWindow window, CancellationToken cancellationToken)
    {
        var counters = new List<BudgetCounter>();
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(SpendKeys.RowPrefix(Partition(window), CounterPrefix),
                           cancellationToken: cancellationToken))
        {
            counters.Add(ToCounter(entity));
        }
        return counters;
    }

    public async Task<BudgetReservation?> GetReservationAsync(BudgetWindow window, string jobId, CancellationToken cancellationToken)
    {
        var response = await table.Client.GetEntityIfExistsAsync<TableEntity>(Partition(window), ReservationKey(jobId),
            cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        return new BudgetReservation(jobId, entity.GetString("Caller"),
            entity.GetString("Counters").Split(';', StringSplitOptions.RemoveEmptyEntries), entity.GetInt64("HeldMicros") ?? 0,
            entity.GetString("State"), entity.GetString("SettledAttempts") ?? ",", entity.GetInt64("SpentMicros") ?? 0, entity.ETag);
    }

    /// <summary>
    /// Writes counters and reservations of one window atomically (each row at most once); each row is inserted if new
    /// and otherwise replaced only if unchanged since it was read. Throws <see cref="TableTransactionFailedException"/>
    /// with 409 or 412 when another writer got there first: read again and retry.
    /// </summary>
    /// <returns>The rows as written, with their new ETags.</returns>
    public async Task<(IReadOnlyList<BudgetCounter> Counters, IReadOnlyList<BudgetReservation> Reservations)> SubmitAsync(BudgetWindow window,
        IReadOnlyList<BudgetCounter> counters, IReadOnlyList<BudgetReservation> reservations, CancellationToken cancellationToken)
    {
        var partition = Partition(window);
        var actions = counters.Select(counter => Write(new TableEntity(partition, counter.RowKey)
            {
                ["Caller"] = counter.Caller,
                ["ReservedMicros"] = counter.ReservedMicros,
                ["SpentMicros"] = counter.SpentMicros,
            }, counter.ETag))
            .Concat(reservations.Select(reservation => Write(new TableEntity(partition, ReservationKey(reservation.JobId))
            {
                ["Caller"] = reservation.Caller,
                ["Counters"] = string.Join(';', reservation.Counters),
                ["HeldMicros"] = reservation.HeldMicros,
                ["State"] = reservation.State,
                ["SettledAttempts"] = reservation.SettledAttempts,
                ["SpentMicros"] = reservation.SpentMicros,
            }, reservation.ETag)));
        var responses = (await table.Client.SubmitTransactionAsync(actions, cancellationToken)).Value;
        return ([.. counters.Select((counter, i) => counter with { ETag = responses[i].Headers.ETag ?? default })],
            [.. reservations.Select((reservation, i) => reservation with { ETag = responses[counters.Count + i].Headers.ETag ?? default })]);
    }

    private static TableTransactionAction Write(TableEntity entity, ETag etag) => etag == default
        ? new TableTransactionAction(TableTransactionActionType.Add, entity)
        : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, etag);

    private static BudgetCounter ToCounter(TableEntity entity) => new(entity.RowKey, entity.GetString("Caller"),
        entity.GetInt64("ReservedMicros") ?? 0, entity.GetInt64("SpentMicros") ?? 0, entity.ETag);
}
