using Azure;
using Functions.Core.Cache;
using Functions.Core.Jobs;
using Functions.Core.Resilience;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Functions.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Completions;

/// <summary>
/// The queue trigger's work: run one job through the model and record the outcome once. This is the one owner of
/// retries (the SDK's are off): short waits are slept here, long ones send the job back to the queue delayed, the
/// shared gate holds every instance back after a 429 or while the circuit is open, and every job ends Succeeded or
/// Failed within its call budget and deadline. Every call's tokens go to the spend ledger once, before the result is
/// written, and the job's budget reservation is settled to the real cost or released. Exceptions that escape (storage faults, bugs) are for the host's
/// redelivery and poison queue, whose handler then closes the job.
/// </summary>
public sealed class ProcessChatHandler(
    JobTable jobs,
    JobQueue queue,
    SingleFlight cache,
    IChatModel model,
    RetryPolicy retryPolicy,
    UpstreamGate gate,
    CircuitBreaker circuit,
    IOptions<ResilienceOptions> options,
    SpendLedger ledger,
    BudgetReservations budgets,
    TimeProvider time,
    ServerlessTelemetry telemetry,
    ILogger<ProcessChatHandler> logger)
{
    /// <summary>Past a lease's end before a held job is looked at again, so clocks a little apart still see it ended.</summary>
    private static readonly TimeSpan LeaseSlack = TimeSpan.FromSeconds(2);

    public async Task HandleAsync(string messageText, CancellationToken cancellationToken)
    {
        if (JobMessage.TryParse(messageText) is not { } message)
        {
            // No job id means no job to finish; retrying cannot help.
            CompletionsLog.UnreadableMessage(logger, messageText.Length);
            return;
        }
        using var span = telemetry.StartProcess(message);

        var job = await jobs.GetAsync(message.JobId, cancellationToken);
        if (job is null)
        {
            CompletionsLog.JobMissing(logger, message.JobId);
            return;
        }
        ServerlessTelemetry.TagJob(job);
        if (job.IsTerminal)
        {
            // A redelivery after the outcome was recorded: no second model call, no second usage record.
            CompletionsLog.AlreadyFinished(logger, job.Id, job.Status);
            return;
        }
        if (job.Status == JobStatus.Running && job.LeaseUntil is { } leaseUntil && leaseUntil > time.GetUtcNow())
        {
            // Another delivery holds the job (a duplicate message, or a worker that may have died: the host can hand
            // a crashed invocation's message back long before the lease ends). Never drop it: come back when the
            // lease ends, to find the job finished (nothing to do) or abandoned (take it over).
            CompletionsLog.HeldElsewhere(logger, job.Id, leaseUntil);
            await queue.RequeueAsync(job.Id, job.ModelCalls, leaseUntil - time.GetUtcNow() + LeaseSlack, cancellationToken);
            return;
        }

        // Identical cacheable jobs share one model call: this one may be answered already, or wait for the one under
        // way (without spending a model call of its budget). Disposing the flight releases its lease on every exit.
        await using var flight = await cache.JoinAsync(job, cancellationToken);
        if (flight.Answered is { } answered)
        {
            await budgets.ReleaseAsync(job, cancellationToken); // answered without a model call: nothing to pay for
            await RecordAsync(answered, cancellationToken);
            return;
        }
        if (flight.RecheckAfter is { } recheck)
        {
            await queue.RequeueAsync(job.Id, job.ModelCalls, recheck, cancellationToken);
            return;
        }

        var lease = new HeldLease();
        try
        {
            await RunAsync(job, flight, lease, cancellationToken);
        }
        catch (Exception ex) when (ex is not ModelCallException)
        {
            // Storage fault, shutdown or bug: give back the lease this delivery holds, so the host's redelivery can run
            // the job at once rather than wait for the lease to run out.
            await ReleaseAsync(lease.Job);
            throw;
        }
    }

    /// <summary>The job as this delivery last wrote it while it held the lease (null when it holds none).</summary>
    private sealed class HeldLease
    {
        public Job? Job { get; set; }
    }

    /// <summary>Only with the ETag of our own Running write: a 412 means another delivery owns the job now; leave it.</summary>
    private async Task ReleaseAsync(Job? held)
    {
        if (held is not { Status: JobStatus.Running })
        {
            return;
        }
        try
        {
            await jobs.UpdateAsync(held with
            {
                Status = JobStatus.Queued, LeaseUntil = null,
                LastError = held.LastError ?? new JobError("processing_failed", "The job could not be processed."),
            }, CancellationToken.None);
        }
        catch (RequestFailedException ex)
        {
            CompletionsLog.ReleaseFailed(logger, held.Id, ex.Status);
        }
    }

    private async Task RunAsync(Job job, Flight flight, HeldLease lease, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var started = time.GetTimestamp();
        if (time.GetUtcNow() > job.CreatedAt + settings.JobDeadline)
        {
            await FailAsync(job, Deadline(job), cancellationToken); // picked up from a backlog too late to be of use
            return;
        }
        if (job.RetryAt is { } retryAt && !await WaitOrRequeueAsync(job, retryAt - time.GetUtcNow(), cancellationToken))
        {
            return;
        }

        while (true)
        {
            if (job.ModelCalls > settings.MaxRetries)
            {
                await FailAsync(job, GiveUp(job), cancellationToken);
                return;
            }
            if (await gate.ClosedUntilAsync(cancellationToken) is { } closed)
            {
                CompletionsLog.GateClosed(logger, job.Id, closed.Reason, closed.Until);
                if (!await WaitOrRequeueAsync(job, closed.Until - time.GetUtcNow() + retryPolicy.Spread(), cancellationToken))
                {
                    return;
                }
                continue;
            }

            var now = time.GetUtcNow();
            try
            {
                job = await jobs.UpdateAsync(job with
                {
                    Status = JobStatus.Running, StartedAt = job.StartedAt ?? now, ModelCalls = job.ModelCalls + 1,
                    LeaseUntil = now + settings.ProcessingLease, RetryAt = null,
                }, cancellationToken);
                lease.Job = job;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                CompletionsLog.TakenElsewhere(logger, job.Id); // another delivery of the same job got there first
                return;
            }

            JobResult result;
            try
            {
                result = await model.CompleteAsync(job.Request, cancellationToken);
            }
            catch (ModelCallException ex) when (!ex.IsTransient)
            {
                await FailAsync(job, ex.ToJobError(), cancellationToken);
                return;
            }
            catch (ModelCallException ex)
            {
                await circuit.RecordFailureAsync(cancellationToken);
                if (ex.Status == 429 && ex.RetryAfter is { } hint)
                {
                    // Other instances hold back at most MaxBackoff on our word: past that they learn their own limits.
                    var shared = hint < settings.MaxBackoff ? hint : settings.MaxBackoff;
                    await gate.CloseUntilAsync(time.GetUtcNow() + shared, "rate_limited", cancellationToken);
                }
                job = job with { LastError = ex.ToJobError() };
                lease.Job = job;
                if (job.ModelCalls > settings.MaxRetries)
                {
                    await FailAsync(job, GiveUp(job), cancellationToken);
                    return;
                }
                var delay = retryPolicy.Backoff(job.ModelCalls, ex.RetryAfter);
                CompletionsLog.WillRetry(logger, job.Id, job.ModelCalls, ex.Code, ex.Status, (long)delay.TotalMilliseconds);
                if (!await WaitOrRequeueAsync(job, delay, cancellationToken))
                {
                    return;
                }
                continue;
            }

            circuit.RecordSuccess();
            // The answer is paid for: record it even if the host is shutting down, and ride out a storage blip here,
            // or the redelivery would pay for a second call. Spend before the result; both writes are idempotent per call.
            using var recording = telemetry.StartRecording(job);
            var cost = await RecordingAsync(job, () => ledger.RecordCallAsync(job, result, CancellationToken.None));
            telemetry.Recorded(job, result.Model, cost);
            await RecordingAsync(job, async () => { await budgets.SettleAsync(job, cost, CancellationToken.None); return cost; });
            await RecordAsync(await flight.StoreAsync(job.Succeed(result, time.GetUtcNow()), CancellationToken.None), CancellationToken.None);
            CompletionsLog.Succeeded(logger, job.Id, result.Model, result.Usage.InputTokens, result.Usage.OutputTokens,
                job.ModelCalls, (long)time.GetElapsedTime(started).TotalMilliseconds);
            return;
        }
    }

    /// <returns>True once a short wait has been slept; false when the job was requeued for later or failed its deadline.</returns>
    private async Task<bool> WaitOrRequeueAsync(Job job, TimeSpan wait, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        var now = time.GetUtcNow();
        if (now + wait > job.CreatedAt + settings.JobDeadline)
        {
            await FailAsync(job, Deadline(job), cancellationToken);
            return false;
        }
        if (wait <= settings.LongWaitThreshold)
        {
            await Task.Delay(wait, time, cancellationToken);
            return true;
        }

        // Long waits leave the instance: the queue holds the job, invisible until it may run again.
        job = await jobs.UpdateAsync(job with { Status = JobStatus.Queued, RetryAt = now + wait, LeaseUntil = null }, cancellationToken);
        await queue.RequeueAsync(job.Id, job.ModelCalls, wait, cancellationToken);
        CompletionsLog.Requeued(logger, job.Id, job.ModelCalls, (long)wait.TotalMilliseconds);
        return false;
    }

    /// <summary>
    /// A write that records a paid call, retried a few times on storage faults (each is idempotent per call) before
    /// giving up to the host's redelivery. About three seconds in all: well inside the job's lease.
    /// </summary>
    private async Task<T> RecordingAsync<T>(Job job, Func<Task<T>> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (Exception ex) when (StorageFailure.Is(ex) && attempt < RecordingAttempts)
            {
                CompletionsLog.RecordingRetried(logger, job.Id, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt * attempt), time);
            }
        }
    }

    private const int RecordingAttempts = 4;

    /// <summary>Writes the outcome once: the ETag proves no other worker recorded anything since we took the job.</summary>
    private async Task RecordAsync(Job finished, CancellationToken cancellationToken)
    {
        try
        {
            await jobs.UpdateAsync(finished, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            CompletionsLog.TakenElsewhere(logger, finished.Id);
        }
    }

    private async Task FailAsync(Job job, JobError error, CancellationToken cancellationToken)
    {
        await budgets.ReleaseAsync(job, cancellationToken);
        try
        {
            await jobs.UpdateAsync(job.Fail(error, time.GetUtcNow()), cancellationToken);
            CompletionsLog.Failed(logger, job.Id, error.Code, job.ModelCalls);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            CompletionsLog.TakenElsewhere(logger, job.Id);
        }
    }

    private static JobError GiveUp(Job job)
    {
        var last = job.LastError ?? new JobError("retries_exhausted", "The model could not be called.");
        return new JobError(last.Code, $"Gave up after {job.ModelCalls} model calls. {last.Message}");
    }

    private JobError Deadline(Job job) => new("deadline_exceeded",
        $"The job did not finish within {options.Value.JobDeadline} of being accepted." +
        (job.LastError is { } last ? $" Last error: {last.Message}" : ""));
}
