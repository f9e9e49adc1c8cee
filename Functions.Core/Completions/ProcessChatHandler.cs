using Azure;
using Functions.Core.Cache;
using Functions.Core.Jobs;
using Functions.Core.Jobs.Streams;
using Functions.Core.Resilience;
using Functions.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Completions;

/// <summary>
/// The queue trigger's work: run one job through the model and record the outcome once. The steps: load the job;
/// leave it to another delivery that holds it; join its single flight (a stored or collapsed answer ends here); then
/// stream the model's answer through the shared <see cref="ModelCaller"/> under a <see cref="JobLeases">lease</see>, its
/// deltas appended to the job's stream (<see cref="JobStreamWriter"/>) as they come, waiting or requeueing between calls
/// (<see cref="JobWaits"/>) within the job's call budget and deadline; record every paid call, a broken-off one too
/// (<see cref="PaidCallRecorder"/>), before the result; end Succeeded or Failed. Exceptions that escape (storage
/// faults, bugs) are for the host's redelivery and poison queue, whose handler then closes the job.
/// </summary>
public sealed class ProcessChatHandler(
    JobTable jobs,
    JobQueue queue,
    JobLeases leases,
    JobWaits waits,
    SingleFlight cache,
    ModelCaller model,
    JobStreamWriter streams,
    PaidCallRecorder recorder,
    StaleAnswers stale,
    Spend.BudgetReservations budgets,
    RateLimits.CallerRateLimiter rateLimits,
    Conversations.ConversationTurns conversations,
    TimeProvider time,
    ServerlessTelemetry telemetry,
    ILogger<ProcessChatHandler> logger)
{
    public async Task HandleAsync(string messageText, CancellationToken cancellationToken)
    {
        if (JobMessage.TryParse(messageText) is not { } message)
        {
            // No job id means no job to finish; retrying cannot help.
            CompletionsLog.UnreadableMessage(logger, messageText.Length);
            return;
        }
        using var span = telemetry.StartProcess(message); // continues the submit's trace, carried in the message

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
        if (leases.HeldElsewhereFor(job) is { } held)
        {
            // Another delivery holds the job (a duplicate message, or a worker that may have died: the host can hand
            // a crashed invocation's message back long before the lease ends). Never drop it: come back when the
            // lease ends, to find the job finished (nothing to do) or abandoned (take it over).
            CompletionsLog.HeldElsewhere(logger, job.Id, job.LeaseUntil!.Value);
            await queue.RequeueAsync(job.Id, job.ModelCalls, held, cancellationToken);
            return;
        }

        // Identical cacheable jobs share one model call: this one may be answered already, or wait for the one under
        // way (without spending a model call of its budget). Disposing the flight releases its lease on every exit.
        await using var flight = await cache.JoinAsync(job, cancellationToken);
        if (flight.Answered is { } answered)
        {
            await budgets.ReleaseAsync(job, cancellationToken); // answered without a model call: nothing to pay for
            await rateLimits.ReleaseAsync(job, cancellationToken);
            await WriteOutcomeAsync(answered, cancellationToken);
            return;
        }
        if (flight.RecheckAfter is { } recheck)
        {
            await queue.RequeueAsync(job.Id, job.ModelCalls, recheck, cancellationToken);
            return;
        }

        await RunAsync(job, flight, cancellationToken);
    }

    private async Task RunAsync(Job job, Flight flight, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        if (waits.IsPastDeadline(job))
        {
            await FailAsync(job, waits.Deadline(job), cancellationToken); // picked up from a backlog too late to be of use
            return;
        }
        if (job.RetryAt is { } retryAt && !await WaitAsync(job, retryAt - time.GetUtcNow(), cancellationToken))
        {
            return;
        }

        Job? held = null; // this delivery's own Running write, given back if anything below throws
        try
        {
            while (true)
            {
                if (model.IsExhausted(job))
                {
                    await FailAsync(job, GiveUp(job), cancellationToken);
                    return;
                }
                if (await model.WaitBeforeCallAsync(job, cancellationToken) is { } gate)
                {
                    if (gate.FallBack is { } fallback)
                    {
                        job = job with { Request = fallback }; // the route's next candidate, written with the lease below
                        continue;
                    }
                    CompletionsLog.GateClosed(logger, job.Id, gate.Reason, gate.Until);
                    if (!await WaitAsync(job, gate.Delay, cancellationToken))
                    {
                        return;
                    }
                    continue;
                }
                if (await leases.TakeAsync(job, cancellationToken) is not { } taken)
                {
                    return; // another delivery of the same job got there first
                }
                job = held = taken;

                var (outcome, stillHeld) = await CallUnderLeaseAsync(job, cancellationToken);
                if (outcome is null || stillHeld is null)
                {
                    // The lease lapsed and another worker took the job over: it answers the job, not us. What our call
                    // had generated was still spent, and is recorded (under this call's number) all the same.
                    if (outcome?.Paid is { } spent)
                    {
                        await recorder.RecordAsync(job, spent);
                    }
                    held = null;
                    return;
                }
                job = held = job with { ETag = stillHeld.ETag, LeaseUntil = stillHeld.LeaseUntil };
                if (outcome.Result is { } result)
                {
                    await SucceedAsync(job, flight, result, started);
                    return;
                }
                if (outcome.Paid is { } paid)
                {
                    // The call broke off after the model had begun: what it generated is paid for, whatever comes next.
                    await recorder.RecordAsync(job, paid);
                }
                // The host is stopping mid-call: the delivery's lease is given back below and the message comes back.
                cancellationToken.ThrowIfCancellationRequested();

                var error = outcome.Error!;
                job = held = job with { LastError = error.ToJobError(), Request = outcome.FallBack ?? job.Request };
                if (outcome.RetryIn is not { } delay)
                {
                    await FailAsync(job, error.ToJobError(), cancellationToken);
                    return;
                }
                if (model.IsExhausted(job))
                {
                    await FailAsync(job, GiveUp(job), cancellationToken);
                    return;
                }
                CompletionsLog.WillRetry(logger, job.Id, job.ModelCalls, error.Code, error.Status, (long)delay.TotalMilliseconds);
                if (!await WaitAsync(job, delay, cancellationToken))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is not ModelCallException)
        {
            // Storage fault, shutdown or bug: give back the lease, so the host's redelivery can run the job at once
            // rather than wait for the lease to run out.
            await leases.ReleaseAsync(held);
            throw;
        }
    }

    /// <summary>
    /// The model call, its deltas written to the job's stream as they arrive and all of them before it returns, with
    /// the job's lease renewed while it runs (<see cref="LeaseHeartbeat"/>) and confirmed after it. A lost lease
    /// cancels the call: the job is then another worker's to answer.
    /// </summary>
    /// <returns>The outcome (null when nothing is known of it), and the job as still held (null when the lease was lost).</returns>
    private async Task<(ModelCallOutcome? Outcome, Job? StillHeld)> CallUnderLeaseAsync(Job job, CancellationToken cancellationToken)
    {
        await using var heartbeat = leases.Hold(job);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, heartbeat.Lost);
        ModelCallOutcome outcome;
        try
        {
            await using var stream = await streams.BeginAsync(job, call.Token);
            outcome = await model.StreamAsync(job, stream.AppendAsync, call.Token);
            await stream.CompleteAsync();
        }
        catch (OperationCanceledException) when (heartbeat.IsLost && !cancellationToken.IsCancellationRequested)
        {
            return (null, null);
        }
        return (outcome, await heartbeat.StopAsync());
    }

    /// <returns>True once a short wait has been slept; false when the job was requeued for later or failed its deadline.</returns>
    private async Task<bool> WaitAsync(Job job, TimeSpan wait, CancellationToken cancellationToken)
    {
        switch (await waits.WaitOrRequeueAsync(job, wait, cancellationToken))
        {
            case WaitOutcome.Waited:
                return true;
            case WaitOutcome.PastDeadline:
                await FailAsync(job, waits.Deadline(job), cancellationToken);
                return false;
            default:
                return false;
        }
    }

    /// <summary>The answer is paid for: record it even if the host is shutting down, spend before the result.</summary>
    private async Task SucceedAsync(Job job, Flight flight, Jobs.JobResult result, long started)
    {
        await recorder.RecordAsync(job, result);
        await WriteOutcomeAsync(await flight.StoreAsync(job.Succeed(result, time.GetUtcNow()), CancellationToken.None), CancellationToken.None);
        CompletionsLog.Succeeded(logger, job.Id, result.Model, result.Usage.InputTokens, result.Usage.OutputTokens,
            job.ModelCalls, (long)time.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// Writes the outcome once: the ETag proves no other worker recorded anything since we took the job. A conversation
    /// turn is appended first (once, keyed by the job), so a caller that sees the job Succeeded finds it in the history.
    /// </summary>
    private async Task WriteOutcomeAsync(Job finished, CancellationToken cancellationToken)
    {
        if (finished is { Status: JobStatus.Succeeded, Conversation: not null })
        {
            finished = await conversations.AppendAsync(finished);
        }
        try
        {
            await jobs.UpdateAsync(finished, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            CompletionsLog.OutcomeTakenElsewhere(logger, finished.Id);
        }
    }

    private async Task FailAsync(Job job, JobError error, CancellationToken cancellationToken)
    {
        await budgets.ReleaseAsync(job, cancellationToken);
        await rateLimits.ReleaseAsync(job, cancellationToken);
        if (await stale.FindAsync(job, cancellationToken) is { } answered)
        {
            // Every candidate failed, and the route takes an expired answer over none: served marked stale, not stored again.
            CompletionsLog.ServedStale(logger, job.Id, error.Code);
            await WriteOutcomeAsync(answered.Job.Succeed(answered.Answer, time.GetUtcNow()), cancellationToken);
            return;
        }
        await conversations.ReleaseAsync(job); // a failed turn appends nothing
        try
        {
            await jobs.UpdateAsync(job.Fail(error, time.GetUtcNow()), cancellationToken);
            CompletionsLog.Failed(logger, job.Id, error.Code, job.ModelCalls);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            CompletionsLog.OutcomeTakenElsewhere(logger, job.Id);
        }
    }

    private static JobError GiveUp(Job job)
    {
        var last = job.LastError ?? new JobError("retries_exhausted", "The model could not be called.");
        return new JobError(last.Code, $"Gave up after {job.ModelCalls} model calls. {last.Message}");
    }
}
