using Azure.Data.Tables;
using Functions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Spend;

/// <summary>
/// Group commit of budget changes (<see cref="GroupCommit{TChange, TOutcome}"/>): the changes that reach one window
/// while a write of it is in flight go together in its next entity-group transaction (every counter and reservation
/// row of a window shares its partition), so an instance writes the global counter once per batch instead of once per
/// request, and the requests of a busy instance no longer take turns at that row.
/// <para>
/// A batch is planned change by change on one copy of the counters, releases and settlements first (they free room),
/// so it admits exactly what one-at-a-time commits would: a reservation is checked against the totals every earlier
/// change left. A refusal is only given on counters read or written within <see cref="BudgetCounterCache.FreshFor"/>.
/// When another writer moved a row (409/412), the batch's reservation rows and counters are read again and the whole
/// batch planned afresh: a change whose earlier write had in fact landed then finds nothing due.
/// </para>
/// </summary>
public sealed class BudgetCommits
{
    /// <summary>
    /// Changes per transaction: 30 rows, and at most 61 counters (each change's caller and allowance, and the global one),
    /// of the 100 entities allowed.
    /// </summary>
    public const int MaxBatch = 30;

    /// <summary>Rounds of plan-and-write before giving up under contention (the caller then answers 503).</summary>
    private const int MaxRounds = 100;

    private readonly BudgetStore store;
    private readonly BudgetCounterCache counters;
    private readonly BudgetReceipts receipts;
    private readonly ILogger<BudgetCommits> logger;
    private readonly GroupCommit<Queued, Budget?> commits;

    public BudgetCommits(BudgetStore store, BudgetCounterCache counters, BudgetReceipts receipts, ILogger<BudgetCommits> logger)
    {
        this.store = store;
        this.counters = counters;
        this.receipts = receipts;
        this.logger = logger;
        commits = new GroupCommit<Queued, Budget?>(MaxBatch, queued => queued.Change.ReservationId, CommitBatchAsync);
    }

    /// <summary>Writes <paramref name="change"/> to <paramref name="window"/>, planned from <paramref name="current"/> (the row as known).</summary>
    /// <returns>Null when written (or nothing was due); otherwise the budget it would exceed, nothing written.</returns>
    public Task<Budget?> CommitAsync(BudgetWindow window, BudgetChange change, BudgetReservation? current) =>
        commits.CommitAsync(window.Key, new Queued(window, change, current));

    /// <summary>How many changes of <paramref name="window"/> wait for a transaction (for tests).</summary>
    internal int Waiting(BudgetWindow window) => commits.Waiting(window.Key);

    /// <summary>A change waiting for its window's transaction, with its reservation row as known when it was queued.</summary>
    private sealed record Queued(BudgetWindow Window, BudgetChange Change, BudgetReservation? Current);

    private async Task<IReadOnlyList<Budget?>> CommitBatchAsync(IReadOnlyList<Queued> batch)
    {
        var window = batch[0].Window;
        try
        {
            var rows = batch.Select(queued => queued.Current).ToArray();
            for (var round = 1; ; round++)
            {
                var plans = batch.Select((queued, i) => queued.Change.Plan(rows[i])).ToArray();
                var keys = plans.OfType<BudgetPlan>()
                    .SelectMany(plan => plan.Counters.Concat(plan.MustFit.Select(budget => budget.CounterKey(plan.Caller))))
                    .Distinct(StringComparer.Ordinal).ToList();
                var known = await CountersAsync(window, keys, plans);
                if (Apply(plans, known) is not { } planned)
                {
                    counters.Forget(window, known.Where(counter => !counter.Value.Fresh).Select(counter => counter.Key));
                    continue; // a refusal on a copy that may be old: look again
                }

                var writes = plans.Select((plan, i) => planned.Refused[i] is null ? plan : null).ToArray();
                try
                {
                    var (counterRows, reservationRows) = writes.All(plan => plan is null)
                        ? ([], [])
                        : await store.SubmitAsync(window, [.. planned.Counters.Where(counter => planned.Changed.Contains(counter.RowKey))],
                            [.. writes.OfType<BudgetPlan>().Select(plan => plan.Row)], CancellationToken.None);
                    counters.Put(window, counterRows);
                    // Each row as it now stands, the ones nothing was due for too (a write of theirs had landed before).
                    var written = reservationRows.ToDictionary(row => row.JobId, StringComparer.Ordinal);
                    for (var i = 0; i < batch.Count; i++)
                    {
                        // An allowance's resize is never settled: its row only marks it done.
                        if ((written.GetValueOrDefault(batch[i].Change.ReservationId) ?? rows[i]) is { } row && batch[i].Change is not BudgetChange.Resize)
                        {
                            receipts.Put(window, row);
                        }
                    }
                    return planned.Refused;
                }
                catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && round < MaxRounds)
                {
                    counters.Forget(window, keys);
                    rows = await Task.WhenAll(batch.Select(queued =>
                        store.GetReservationAsync(window, queued.Change.ReservationId, CancellationToken.None)));
                    SpendLog.CounterContention(logger, window.Key, round);
                }
            }
        }
        catch
        {
            foreach (var queued in batch)
            {
                receipts.Forget(queued.Change.ReservationId); // written or not: read it next time
            }
            throw;
        }
    }

    /// <summary>The counters as this instance knows them (fresh or not), else as storage has them, read in parallel.</summary>
    private async Task<Dictionary<string, (BudgetCounter Counter, bool Fresh)>> CountersAsync(BudgetWindow window, IReadOnlyList<string> keys,
        IReadOnlyList<BudgetPlan?> plans)
    {
        var known = new Dictionary<string, (BudgetCounter Counter, bool Fresh)>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var key in keys)
        {
            if (counters.Get(window, key) is { } copy)
            {
                known[key] = copy;
            }
            else
            {
                missing.Add(key);
            }
        }
        var read = await Task.WhenAll(missing.Select(key => store.GetCounterAsync(window, key, CancellationToken.None)));
        var fresh = missing.Select((key, i) =>
            read[i] ?? new BudgetCounter(key, key == Budget.GlobalCounterKey ? null : CallerOf(key, plans), 0, 0)).ToList();
        foreach (var counter in fresh)
        {
            known[counter.RowKey] = (counter, true);
        }
        counters.Put(window, fresh); // a counter not written yet too: what is left of a budget is known after a refusal
        return known;
    }

    private static string? CallerOf(string key, IReadOnlyList<BudgetPlan?> plans) =>
        plans.FirstOrDefault(plan => plan is not null && plan.Counters.Contains(key))?.Caller;

    private sealed record Planned(IReadOnlyList<BudgetCounter> Counters, HashSet<string> Changed, Budget?[] Refused);

    /// <summary>
    /// Applies the plans in turn to one copy of the counters, those that free room first. Null when a plan would be
    /// refused on a copy that is not fresh.
    /// </summary>
    private static Planned? Apply(IReadOnlyList<BudgetPlan?> plans, Dictionary<string, (BudgetCounter Counter, bool Fresh)> known)
    {
        var working = known.ToDictionary(pair => pair.Key, pair => pair.Value.Counter, StringComparer.Ordinal);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        var refused = new Budget?[plans.Count];
        foreach (var i in Enumerable.Range(0, plans.Count).OrderBy(i => plans[i]?.MustFit.Count > 0 ? 1 : 0))
        {
            if (plans[i] is not { } plan)
            {
                continue;
            }
            var over = plan.MustFit.FirstOrDefault(budget =>
            {
                var counter = working[budget.CounterKey(plan.Caller)];
                return counter.SpentMicros + counter.ReservedMicros + plan.ReservedDelta > budget.LimitMicros;
            });
            if (over is not null)
            {
                if (!plan.MustFit.All(budget => known[budget.CounterKey(plan.Caller)].Fresh))
                {
                    return null;
                }
                refused[i] = over;
                continue;
            }
            foreach (var key in plan.Counters)
            {
                var counter = working[key];
                working[key] = counter with
                {
                    ReservedMicros = Math.Max(0, counter.ReservedMicros + plan.ReservedDelta),
                    SpentMicros = counter.SpentMicros + plan.SpentDelta,
                };
                changed.Add(key);
            }
        }
        return new Planned([.. working.Values], changed, refused);
    }
}
