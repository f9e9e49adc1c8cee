using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Functions.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Completions;

/// <summary>
/// Records a model call that was paid for, once, on either door: the ledger row (keyed by job and call, so a repeat
/// finds it already there), the job's budget reservation settled to the real cost, and the caller's token reservation
/// (see <see cref="CallerRateLimiter"/>) corrected to the real usage. The three writes are independent and each
/// idempotent per call, so they go out together: one round trip of waiting, not three. The answer is paid for, so
/// the ledger and budget writes ignore shutdown and ride out a storage blip here: giving up would make a redelivery
/// pay for a second call. About three seconds of retries in all, well inside a job's lease.
/// </summary>
public sealed class PaidCallRecorder(SpendLedger ledger, BudgetReservations budgets, CallerRateLimiter rateLimits, TimeProvider time,
    ILogger<PaidCallRecorder> logger, ServerlessTelemetry? telemetry = null)
{
    private const int Attempts = 4;

    /// <summary>Records call <see cref="Job.ModelCalls"/> of <paramref name="job"/>; returns its cost in micro-dollars.</summary>
    /// <param name="kind">What the call was for, as the ledger and the spend report tell calls apart (a turn's answer, or a summary).</param>
    public async Task<long> RecordAsync(Job job, JobResult paid, string kind = LedgerEntry.Call)
    {
        using var span = telemetry?.StartRecording(job);
        var cost = ledger.CostOf(job, paid);
        await Task.WhenAll(
            RetryingAsync(job, () => ledger.RecordCallAsync(job, paid, kind)),
            RetryingAsync(job, async () =>
            {
                await budgets.SettleAsync(job, cost, CancellationToken.None);
                return cost;
            }),
            rateLimits.SettleAsync(job, paid.Usage, CancellationToken.None)); // best effort: a lost correction only keeps the limit stricter
        telemetry?.Recorded(job, paid.Model, cost);
        return cost;
    }

    private async Task<T> RetryingAsync<T>(Job job, Func<Task<T>> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (Exception ex) when (StorageFailure.Is(ex) && attempt < Attempts)
            {
                CompletionsLog.RecordingRetried(logger, job.Id, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt * attempt), time);
            }
        }
    }
}
