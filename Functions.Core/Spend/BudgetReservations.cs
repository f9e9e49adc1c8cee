using Azure.Data.Tables;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Spend;

/// <summary>A request that does not fit a budget: which one, and when its window resets.</summary>
public sealed record BudgetExceeded(Budget Budget, BudgetWindow Window, long RequestMicros)
{
    public DateTimeOffset ResetsAt => Window.End;
}

/// <summary>
/// Budgets that hold under concurrency. Before a job is queued its worst-case cost is reserved against every
/// configured budget of the job's day and month; the worker later settles the reservation to the real cost, or
/// releases it if the job fails. Each window's counters change by optimistic concurrency (ETag-conditional writes,
/// re-read and retry on 412/409) together with the job's reservation row in one transaction, so a reservation is
/// never lost or applied twice, and concurrent submits can never take a budget past its limit: every reservation
/// was checked against the totals it replaced. The worst case counts the input with the model's tokenizer plus a
/// margin (<see cref="PriceTable.WorstCaseMicros"/>), so a settled cost never exceeds its reservation and the budget holds
/// for what is spent, not only for what is reserved. The windows come from <see cref="Job.CreatedAt"/>, so the settle
/// finds the reservation however late it runs.
/// </summary>
public sealed class BudgetReservations(
    BudgetStore store,
    BudgetCounterCache cache,
    PriceTable prices,
    IOptions<BudgetOptions> budgets,
    IOptions<RequestLimitsOptions> limits,
    ILogger<BudgetReservations> logger,
    Telemetry.ServerlessTelemetry? telemetry = null)
{
    /// <summary>Rounds of read-check-write before giving up under contention (the caller then answers 503).</summary>
    private const int MaxRounds = 100;

    /// <returns>Null when the job's worst case was reserved against every budget; otherwise the budget it would exceed.</returns>
    public async Task<BudgetExceeded?> ReserveAsync(Job job, CancellationToken cancellationToken)
    {
        var configured = budgets.Value.Configured();
        if (configured.Count == 0)
        {
            return null;
        }

        var amount = prices.WorstCaseMicros(job.Request, limits.Value.MaxOutputTokens, job.CreatedAt);
        foreach (var period in configured.Select(budget => budget.Period).Distinct())
        {
            var window = BudgetWindow.Of(period, job.CreatedAt);
            var exceeded = await ReserveAsync(window, [.. configured.Where(budget => budget.Period == period)], job, amount,
                cancellationToken);
            if (exceeded is not null)
            {
                // Give back what earlier windows took for this job.
                await ReleaseAsync(job, cancellationToken);
                SpendLog.BudgetExceeded(logger, Telemetry.CallerHash.Of(job.Caller), exceeded.Budget.Name, amount);
                telemetry?.BudgetRefused(exceeded.Budget.Name);
                return exceeded;
            }
        }
        return null;
    }

    /// <summary>
    /// A reservation belongs to one submit of a job: its id and creation time. A submit retried with the same
    /// Idempotency-Key (same job id, after a 503) reserves afresh instead of finding the released hold of the attempt
    /// that failed; the worker settles the reservation of the submit whose job row was written.
    /// </summary>
    internal static string ReservationId(Job job) => $"{job.Id}|{job.CreatedAt.UtcTicks}";

    /// <summary>Replaces the job's reservation with the real cost of attempt <see cref="Job.ModelCalls"/>; a repeat is a no-op.</summary>
    public Task SettleAsync(Job job, long actualMicros, CancellationToken cancellationToken) =>
        FinishAsync(job, job.ModelCalls, actualMicros, cancellationToken);

    /// <summary>Gives back a reservation the job will not use (it failed); a no-op once settled or released.</summary>
    public Task ReleaseAsync(Job job, CancellationToken cancellationToken) =>
        FinishAsync(job, attempt: null, actualMicros: 0, cancellationToken);

    /// <summary>
    /// Before a fallback model is called: the job's hold is raised to the worst case of <paramref name="job"/>'s request
    /// (its new model at that model's price) where it is less, within every budget, so a fallback never breaks a budget.
    /// A hold a paid call has already settled is taken afresh. Null when it fits (nothing changes when the hold covers it).
    /// </summary>
    public async Task<BudgetExceeded?> RecheckAsync(Job job, CancellationToken cancellationToken)
    {
        var configured = budgets.Value.Configured();
        if (configured.Count == 0)
        {
            return null;
        }
        var amount = prices.WorstCaseMicros(job.Request, limits.Value.MaxOutputTokens, job.CreatedAt);
        foreach (var period in configured.Select(budget => budget.Period).Distinct())
        {
            var window = BudgetWindow.Of(period, job.CreatedAt);
            var windowBudgets = configured.Where(budget => budget.Period == period).ToList();
            var keys = windowBudgets.Select(budget => budget.CounterKey(job.Caller)).ToList();
            using var turn = await cache.TurnAsync(window, keys, cancellationToken);
            for (var round = 1; ; round++)
            {
                var reservation = await store.GetReservationAsync(window, ReservationId(job), cancellationToken);
                var held = reservation is { State: BudgetReservation.Reserved } ? reservation.HeldMicros : 0;
                if (held >= amount)
                {
                    break;
                }
                // Checked on the counters as storage has them now: a fallback must never take a budget past its limit.
                var extra = amount - held;
                var counters = new List<BudgetCounter>();
                foreach (var budget in windowBudgets)
                {
                    var key = budget.CounterKey(job.Caller);
                    var counter = await store.GetCounterAsync(window, key, cancellationToken)
                                  ?? new BudgetCounter(key, budget.Scope == BudgetScope.Global ? null : job.Caller, 0, 0);
                    if (counter.SpentMicros + counter.ReservedMicros + extra > budget.LimitMicros)
                    {
                        SpendLog.BudgetExceeded(logger, Telemetry.CallerHash.Of(job.Caller), budget.Name, amount);
                        telemetry?.BudgetRefused(budget.Name);
                        return new BudgetExceeded(budget, window, amount);
                    }
                    counters.Add(counter with { ReservedMicros = counter.ReservedMicros + extra });
                }
                var raised = reservation is null
                    ? new BudgetReservation(ReservationId(job), job.Caller, [.. counters.Select(c => c.RowKey)], amount, BudgetReservation.Reserved, ",", 0)
                    : reservation with { HeldMicros = amount, State = BudgetReservation.Reserved };
                try
                {
                    cache.Put(window, await store.SubmitAsync(window, counters, raised, cancellationToken));
                    break;
                }
                catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && round < MaxRounds)
                {
                    cache.Forget(window, keys);
                    SpendLog.CounterContention(logger, window.Key, round);
                }
            }
        }
        return null;
    }

    /// <summary>As <see cref="ReleaseAsync"/>, for a door already answering a storage fault: a release lost too is logged, not thrown.</summary>
    public async Task TryReleaseAsync(Job job)
    {
        try
        {
            await ReleaseAsync(job, CancellationToken.None);
        }
        catch (Exception ex) when (Storage.StorageFailure.Is(ex))
        {
            SpendLog.ReleaseLost(logger, job.Id, ex);
        }
    }

    private async Task<BudgetExceeded?> ReserveAsync(BudgetWindow window, IReadOnlyList<Budget> windowBudgets, Job job, long amount,
        CancellationToken cancellationToken)
    {
        var keys = windowBudgets.Select(budget => budget.CounterKey(job.Caller)).ToList();
        using var turn = await cache.TurnAsync(window, keys, cancellationToken);
        for (var round = 1; ; round++)
        {
            var counters = new List<BudgetCounter>();
            var refusal = default(Budget);
            var allFresh = true;
            foreach (var budget in windowBudgets)
            {
                var (counter, fresh) = await CounterAsync(window, budget, job.Caller, cancellationToken);
                allFresh &= fresh;
                if (counter.SpentMicros + counter.ReservedMicros + amount > budget.LimitMicros)
                {
                    refusal ??= budget;
                }
                counters.Add(counter with { ReservedMicros = counter.ReservedMicros + amount });
            }
            if (refusal is not null)
            {
                if (allFresh)
                {
                    return new BudgetExceeded(refusal, window, amount);
                }
                cache.Forget(window, keys); // refuse only on a current view: look again
                continue;
            }

            var reservation = new BudgetReservation(ReservationId(job), job.Caller, [.. keys], amount, BudgetReservation.Reserved, ",", 0);
            try
            {
                cache.Put(window, await store.SubmitAsync(window, counters, reservation, cancellationToken));
                return null;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && round < MaxRounds)
            {
                cache.Forget(window, keys);
                if (await store.GetReservationAsync(window, ReservationId(job), cancellationToken) is not null)
                {
                    return null; // Already reserved (a retried write that had in fact succeeded).
                }
                SpendLog.CounterContention(logger, window.Key, round);
            }
        }
    }

    /// <summary>A counter as this instance last knew it, else as storage has it (or a new one), and whether that view is fresh.</summary>
    private async Task<(BudgetCounter Counter, bool Fresh)> CounterAsync(BudgetWindow window, Budget budget, string caller,
        CancellationToken cancellationToken)
    {
        var key = budget.CounterKey(caller);
        if (cache.Get(window, key) is { } known)
        {
            return known;
        }
        var counter = await store.GetCounterAsync(window, key, cancellationToken)
                      ?? new BudgetCounter(key, budget.Scope == BudgetScope.Global ? null : caller, 0, 0);
        cache.Put(window, [counter]);
        return (counter, true);
    }

    private async Task FinishAsync(Job job, int? attempt, long actualMicros, CancellationToken cancellationToken)
    {
        if (budgets.Value.Configured().Count == 0)
        {
            return; // nothing was reserved, so no storage round trips on the worker's hot path
        }
        foreach (var window in (BudgetWindow[])
                 [BudgetWindow.Of(BudgetPeriod.Daily, job.CreatedAt), BudgetWindow.Of(BudgetPeriod.Monthly, job.CreatedAt)])
        {
            for (var round = 1; ; round++)
            {
                var reservation = await store.GetReservationAsync(window, ReservationId(job), cancellationToken);
                var due = reservation is not null && (attempt is { } n
                    ? !reservation.IsSettled(n)
                    : reservation.State == BudgetReservation.Reserved);
                if (!due)
                {
                    break;
                }

                using var turn = await cache.TurnAsync(window, reservation!.Counters, cancellationToken);
                var counters = new List<BudgetCounter>();
                foreach (var key in reservation.Counters)
                {
                    var counter = cache.Get(window, key)?.Counter
                                  ?? await store.GetCounterAsync(window, key, cancellationToken) ?? new BudgetCounter(key, null, 0, 0);
                    counters.Add(counter with
                    {
                        ReservedMicros = Math.Max(0, counter.ReservedMicros - reservation.HeldMicros),
                        SpentMicros = counter.SpentMicros + actualMicros,
                    });
                }
                var finished = attempt is { } settled
                    ? reservation with
                    {
                        State = BudgetReservation.Settled, HeldMicros = 0, SettledAttempts = reservation.SettledAttempts + settled + ",",
                        SpentMicros = reservation.SpentMicros + actualMicros,
                    }
                    : reservation with { State = BudgetReservation.Released, HeldMicros = 0 };
                try
                {
                    cache.Put(window, await store.SubmitAsync(window, counters, finished, cancellationToken));
                    break;
                }
                catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && round < MaxRounds)
                {
                    cache.Forget(window, reservation.Counters);
                    SpendLog.CounterContention(logger, window.Key, round);
                }
            }
        }
    }
}
