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
/// releases it if the job fails. Each window's counters change together with the job's reservation row in one
/// transaction, by optimistic concurrency (ETag-conditional writes, re-read and retry on 412/409) and grouped with the
/// other changes in flight on this instance (<see cref="BudgetCommits"/>), so a reservation is never lost or applied
/// twice, and concurrent submits can never take a budget past its limit: every reservation was checked against the
/// totals it replaced. The worst case counts the input with the model's tokenizer plus a margin
/// (<see cref="PriceTable.WorstCaseMicros"/>), so a settled cost never exceeds its reservation and the budget holds
/// for what is spent, not only for what is reserved. The windows come from <see cref="Job.CreatedAt"/>, so the settle
/// finds the reservation however late it runs. A call settled on the instance it came to (<see cref="ReserveHereAsync"/>)
/// is held in that window from the instance's allowance where it can be (<see cref="BudgetAllowances"/>), and then
/// settled and released there too.
/// </summary>
public sealed class BudgetReservations(
    BudgetStore store,
    BudgetCommits commits,
    BudgetReceipts receipts,
    BudgetAllowances allowances,
    PriceTable prices,
    IOptions<BudgetOptions> budgets,
    IOptions<RequestLimitsOptions> limits,
    ILogger<BudgetReservations> logger,
    Telemetry.ServerlessTelemetry? telemetry = null)
{
    /// <returns>Null when the job's worst case was reserved against every budget; otherwise the budget it would exceed.</returns>
    public Task<BudgetExceeded?> ReserveAsync(Job job, CancellationToken cancellationToken) => HoldAsync(job, Hold.New, cancellationToken);

    /// <summary>
    /// As <see cref="ReserveAsync"/>, for a call that is settled on this instance (the interactive door): its worst case
    /// is taken from this instance's allowance where that covers it, with no round trip before the model is called.
    /// </summary>
    public Task<BudgetExceeded?> ReserveHereAsync(Job job, CancellationToken cancellationToken) => HoldAsync(job, Hold.Here, cancellationToken);

    /// <summary>
    /// A reservation belongs to one submit of a job: its id and creation time. A submit retried with the same
    /// Idempotency-Key (same job id, after a 503) reserves afresh instead of finding the released hold of the attempt
    /// that failed; the worker settles the reservation of the submit whose job row was written.
    /// </summary>
    internal static string ReservationId(Job job) => $"{job.Id}|{job.CreatedAt.UtcTicks}";

    /// <summary>Replaces the job's reservation with the real cost of attempt <see cref="Job.ModelCalls"/>; a repeat is a no-op.</summary>
    public Task SettleAsync(Job job, long actualMicros, CancellationToken cancellationToken) =>
        FinishAsync(job, new BudgetChange.Finish(ReservationId(job), job.ModelCalls, actualMicros), cancellationToken);

    /// <summary>Gives back a reservation the job will not use (it failed); a no-op once settled or released.</summary>
    public Task ReleaseAsync(Job job, CancellationToken cancellationToken) =>
        FinishAsync(job, new BudgetChange.Finish(ReservationId(job), Attempt: null, ActualMicros: 0), cancellationToken);

    /// <summary>
    /// Before a fallback model is called: the job's hold is raised to the worst case of <paramref name="job"/>'s request
    /// (its new model at that model's price) where it is less, within every budget, so a fallback never breaks a budget.
    /// A hold a paid call has already settled is taken afresh. Null when it fits (nothing changes when the hold covers it).
    /// </summary>
    public Task<BudgetExceeded?> RecheckAsync(Job job, CancellationToken cancellationToken) => HoldAsync(job, Hold.Raise, cancellationToken);

    private enum Hold
    {
        /// <summary>A new submit's reservation, in rows.</summary>
        New,

        /// <summary>A new call settled here: from the allowance where it covers the call, else in rows.</summary>
        Here,

        /// <summary>An existing hold raised where it is less: within the allowance that holds it, else in rows.</summary>
        Raise,
    }

    /// <summary>
    /// Holds the worst case of <paramref name="job"/>'s request in every configured window: a new reservation, or an
    /// existing hold raised where it is less. A new reservation refused in one window gives back what earlier windows took.
    /// </summary>
    private async Task<BudgetExceeded?> HoldAsync(Job job, Hold hold, CancellationToken cancellationToken)
    {
        var raise = hold == Hold.Raise;
        var configured = budgets.Value.Configured();
        if (configured.Count == 0)
        {
            return null;
        }
        var amount = prices.WorstCaseMicros(job.Request, limits.Value.MaxOutputTokens, job.CreatedAt);
        var id = ReservationId(job);
        try
        {
            foreach (var period in configured.Select(budget => budget.Period).Distinct())
            {
                var window = BudgetWindow.Of(period, job.CreatedAt);
                IReadOnlyList<Budget> windowBudgets = [.. configured.Where(budget => budget.Period == period)];
                if (hold == Hold.Here && await allowances.TakeAsync(id, window, job.Caller, windowBudgets, amount))
                {
                    continue;
                }
                var inAllowance = raise && allowances.Holds(id, window);
                if (inAllowance && await allowances.RaiseAsync(id, window, amount))
                {
                    continue;
                }
                BudgetChange change = raise
                    ? new BudgetChange.Raise(id, job.Caller, windowBudgets, amount)
                    : new BudgetChange.Reserve(id, job.Caller, windowBudgets, amount);
                var current = raise ? await RowAsync(window, id, cancellationToken) : null; // a new submit has no row yet
                if (change.Plan(current) is null || await commits.CommitAsync(window, change, current) is not { } refused)
                {
                    if (inAllowance)
                    {
                        allowances.Release(id, window); // the row holds all of it now
                    }
                    continue;
                }
                if (!raise)
                {
                    receipts.Complete(id);
                    await ReleaseAsync(job, cancellationToken);
                }
                SpendLog.BudgetExceeded(logger, Telemetry.CallerHash.Of(job.Caller), refused.Name, amount);
                telemetry?.BudgetRefused(refused.Name);
                return new BudgetExceeded(refused, window, amount);
            }
            if (!raise)
            {
                receipts.Complete(id);
            }
            return null;
        }
        catch
        {
            receipts.Forget(id); // a window's write may have landed: settle and release read the rows
            throw;
        }
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

    /// <summary>Finishes the job's hold in the day's and the month's window together: they are separate partitions.</summary>
    private Task FinishAsync(Job job, BudgetChange.Finish change, CancellationToken cancellationToken) =>
        budgets.Value.Configured().Count == 0
            ? Task.CompletedTask // nothing was reserved, so no storage round trips on the worker's hot path
            : Task.WhenAll(new[] { BudgetPeriod.Daily, BudgetPeriod.Monthly }.Select(period =>
                FinishAsync(BudgetWindow.Of(period, job.CreatedAt), change, cancellationToken)));

    private async Task FinishAsync(BudgetWindow window, BudgetChange.Finish change, CancellationToken cancellationToken)
    {
        if (allowances.Holds(change.ReservationId, window))
        {
            if (change.Attempt is { } attempt)
            {
                await allowances.SettleAsync(change.ReservationId, attempt, change.ActualMicros, window,
                    await RowAsync(window, change.ReservationId, cancellationToken));
            }
            else
            {
                allowances.Release(change.ReservationId, window);
            }
            return;
        }
        var current = await RowAsync(window, change.ReservationId, cancellationToken);
        if (change.Plan(current) is not null) // else none in this window, or already settled or released
        {
            await commits.CommitAsync(window, change, current);
        }
    }

    /// <summary>The reservation row of a window as this instance wrote it (no round trip), else as storage has it.</summary>
    private async Task<BudgetReservation?> RowAsync(BudgetWindow window, string reservationId, CancellationToken cancellationToken)
    {
        if (receipts.Get(reservationId) is { } receipt && (receipt.Complete || receipt.Rows.ContainsKey(window.Key)))
        {
            return receipt.Rows.GetValueOrDefault(window.Key);
        }
        return await store.GetReservationAsync(window, reservationId, cancellationToken);
    }
}
