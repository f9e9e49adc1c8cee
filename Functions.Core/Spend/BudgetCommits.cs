using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Spend;

/// <summary>
/// Group commit of budget changes: the changes that reach one window while a write of it is in flight go together in
/// its next entity-group transaction (every counter and reservation row of a window shares its partition), so an
/// instance writes the global counter once per batch instead of once per request, and the requests of a busy instance
/// no longer take turns at that row. The first change to arrive commits; when its batch is written it hands the turn to
/// the oldest change still waiting, so no request commits for others after its own change is done.
/// <para>
/// A batch is planned change by change on one copy of the counters, releases and settlements first (they free room),
/// so it admits exactly what one-at-a-time commits would: a reservation is checked against the totals every earlier
/// change left. A refusal is only given on counters read or written within <see cref="BudgetCounterCache.FreshFor"/>.
/// When another writer moved a row (409/412), the batch's reservation rows and counters are read again and the whole
/// batch planned afresh: a change whose earlier write had in fact landed then finds nothing due.
/// </para>
/// </summary>
public sealed class BudgetCommits(BudgetStore store, BudgetCounterCache counters, BudgetReceipts receipts, ILogger<BudgetCommits> logger)
{
    /// <summary>Changes per transaction: with a caller's and the global counter each, at most 30 + 31 + 30 = 91 of the 100 rows allowed.</summary>
    public const int MaxBatch = 30;

    /// <summary>Rounds of plan-and-write before giving up under contention (the caller then answers 503).</summary>
    private const int MaxRounds = 100;

    private readonly ConcurrentDictionary<string, WindowQueue> windows = new(StringComparer.Ordinal);

    /// <summary>Writes <paramref name="change"/> to <paramref name="window"/>, planned from <paramref name="current"/> (the row as known).</summary>
    /// <returns>Null when written (or nothing was due); otherwise the budget it would exceed, nothing written.</returns>
    public async Task<Budget?> CommitAsync(BudgetWindow window, BudgetChange change, BudgetReservation? current)
    {
        var queue = windows.GetOrAdd(window.Key, _ => new WindowQueue());
        var pending = new PendingChange(change, current);
        bool leads;
        lock (queue)
        {
            queue.Waiting.Add(pending);
            leads = !queue.Committing;
            queue.Committing = true;
        }
        if (leads || await pending.Turn.Task)
        {
            try
            {
                while (!pending.Done)
                {
                    await CommitBatchAsync(window, queue.Take());
                }
            }
            finally
            {
                queue.HandOver();
            }
        }
        return pending.Outcome();
    }

    /// <summary>How many changes of <paramref name="window"/> wait for a transaction (for tests).</summary>
    internal int Waiting(BudgetWindow window)
    {
        if (!windows.TryGetValue(window.Key, out var queue))
        {
            return 0;
        }
        lock (queue)
        {
            return queue.Waiting.Count;
        }
    }

    private async Task CommitBatchAsync(BudgetWindow window, IReadOnlyList<PendingChange> batch)
    {
        try
        {
            var rows = batch.Select(pending => pending.Current).ToArray();
            for (var round = 1; ; round++)
            {
                var plans = batch.Select((pending, i) => pending.Change.Plan(rows[i])).ToArray();
                var keys = plans.OfType<BudgetPlan>()
                    .SelectMany(plan => plan.Counters.Concat(plan.MustFit.Select(budget => budget.CounterKey(plan.Row.Caller))))
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
                        if ((written.GetValueOrDefault(batch[i].Change.ReservationId) ?? rows[i]) is { } row)
                        {
                            receipts.Put(window, row);
                        }
                    }
                    Finish(batch, planned.Refused);
                    return;
                }
                catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && round < MaxRounds)
                {
                    counters.Forget(window, keys);
                    rows = await Task.WhenAll(batch.Select(pending =>
                        store.GetReservationAsync(window, pending.Change.ReservationId, CancellationToken.None)));
                    SpendLog.CounterContention(logger, window.Key, round);
                }
            }
        }
        catch (Exception ex)
        {
            foreach (var pending in batch)
            {
                receipts.Forget(pending.Change.ReservationId); // written or not: read it next time
                pending.Fail(ex);
            }
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
        plans.FirstOrDefault(plan => plan is not null && plan.Counters.Contains(key))?.Row.Caller;

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
                var counter = working[budget.CounterKey(plan.Row.Caller)];
                return counter.SpentMicros + counter.ReservedMicros + plan.ReservedDelta > budget.LimitMicros;
            });
            if (over is not null)
            {
                if (!plan.MustFit.All(budget => known[budget.CounterKey(plan.Row.Caller)].Fresh))
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

    private static void Finish(IReadOnlyList<PendingChange> batch, Budget?[] refused)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Succeed(refused[i]);
        }
    }

    /// <summary>The changes of one window waiting for its next transaction, and whether one of them is committing.</summary>
    private sealed class WindowQueue
    {
        public List<PendingChange> Waiting { get; } = [];

        public bool Committing { get; set; }

        /// <summary>The oldest waiting changes, up to <see cref="MaxBatch"/>, one per reservation row (a transaction writes a row once).</summary>
        public List<PendingChange> Take()
        {
            lock (this)
            {
                var batch = new List<PendingChange>();
                var rows = new HashSet<string>(StringComparer.Ordinal);
                foreach (var pending in Waiting)
                {
                    if (batch.Count < MaxBatch && rows.Add(pending.Change.ReservationId))
                    {
                        batch.Add(pending);
                    }
                }
                Waiting.RemoveAll(batch.Contains);
                return batch;
            }
        }

        /// <summary>Passes the turn to commit to the oldest waiting change, or ends it.</summary>
        public void HandOver()
        {
            lock (this)
            {
                if (Waiting.Count > 0)
                {
                    Waiting[0].Turn.TrySetResult(true);
                }
                else
                {
                    Committing = false;
                }
            }
        }
    }

    /// <summary>
    /// A change waiting for its transaction. <see cref="Turn"/> completes true when it is this change's turn to commit
    /// (it is then the oldest waiting), or false once another's batch wrote it.
    /// </summary>
    private sealed class PendingChange(BudgetChange change, BudgetReservation? current)
    {
        private Budget? refused;
        private ExceptionDispatchInfo? failure;
        private volatile bool done;

        public BudgetChange Change { get; } = change;

        public BudgetReservation? Current { get; } = current;

        public TaskCompletionSource<bool> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Written, refused or failed: <see cref="Outcome"/> is known.</summary>
        public bool Done => done;

        public void Succeed(Budget? refusal)
        {
            refused = refusal;
            done = true;
            Turn.TrySetResult(false);
        }

        public void Fail(Exception exception)
        {
            failure = ExceptionDispatchInfo.Capture(exception);
            done = true;
            Turn.TrySetResult(false);
        }

        public Budget? Outcome()
        {
            failure?.Throw();
            return refused;
        }
    }
}
