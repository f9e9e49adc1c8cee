using Azure;
using Functions.Core.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs;

/// <summary>
/// The <c>SweepJobs</c> timer's work (<see cref="ResilienceOptions.JobSweepSchedule"/>, both hosts): finds jobs an
/// instance abandoned when it died and puts them back on the queue, so a crash costs seconds rather than the queue
/// engine's ten-minute message lease. Abandoned means Running with a lease that lapsed (its heartbeat stopped), or
/// Queued and untouched for <see cref="ResilienceOptions.StaleQueuedAfter"/> (its message was dequeued by an instance
/// that then died). Each is first written back (Queued, no lease) by its ETag, so of two sweepers, or a sweeper and a
/// late worker, only one acts; then a new message is sent. The old message, when it reappears, finds the job held or
/// finished and does nothing twice. No model call is made here, and the dead worker never records a result: its lease is gone.
/// </summary>
public sealed class JobSweeper(JobTable jobs, JobQueue queue, IOptions<ResilienceOptions> options, TimeProvider time,
    ILogger<JobSweeper> logger)
{
    /// <summary>Past a lease's end before the job counts as abandoned, so clocks a little apart agree it ended.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(2);

    /// <returns>How many jobs were put back on the queue.</returns>
    public async Task<int> HandleAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var oldestWaiting = await OldestWaitingMessageAsync(cancellationToken);
        var candidates = new List<(string Id, string Reason)>();
        var unfinished = 0;
        await foreach (var job in jobs.QueryUnfinishedAsync(cancellationToken))
        {
            unfinished++;
            if (Abandoned(job, now, oldestWaiting) is { } reason)
            {
                candidates.Add((job.Id, reason));
            }
        }

        var requeued = 0;
        foreach (var (id, reason) in candidates)
        {
            if (await TryRequeueAsync(id, reason, cancellationToken))
            {
                requeued++;
            }
        }
        JobsLog.SweepDone(logger, unfinished, requeued);
        return requeued;
    }

    /// <param name="oldestWaiting">When the oldest message still waiting in the queue was sent; null when none waits.</param>
    private string? Abandoned(UnfinishedJob job, DateTimeOffset now, DateTimeOffset? oldestWaiting) => job switch
    {
        { Status: JobStatus.Running, LeaseUntil: { } until } when until + Slack < now => "its worker's lease lapsed",
        { Status: JobStatus.Running, LeaseUntil: null } when job.LastWrite + options.Value.ProcessingLease < now => "running with no lease",
        { Status: JobStatus.Queued } when (job.RetryAt ?? job.LastWrite) < now - options.Value.StaleQueuedAfter
            && job.LastWrite < now - options.Value.StaleQueuedAfter
            && !MayStillBeWaiting(job, oldestWaiting) => "queued but untouched (its message is held by an instance that died)",
        _ => null,
    };

    /// <summary>
    /// In a backlog every waiting job is untouched for long, and is not lost: its message is in the queue behind others.
    /// Messages leave the queue roughly in the order they were sent, so a job whose message was sent (or became due)
    /// after the oldest message still waiting is taken to be behind it, and is looked at again once the queue has moved
    /// past it. A message a dead instance holds is invisible, so it is never the oldest waiting one.
    /// </summary>
    private static bool MayStillBeWaiting(UnfinishedJob job, DateTimeOffset? oldestWaiting) =>
        oldestWaiting is { } oldest && (job.RetryAt ?? job.LastWrite) >= oldest - Slack;

    private async Task<DateTimeOffset?> OldestWaitingMessageAsync(CancellationToken cancellationToken)
    {
        var peeked = (await queue.Client.PeekMessagesAsync(maxMessages: 1, cancellationToken)).Value;
        return peeked.Length > 0 ? peeked[0].InsertedOn : null;
    }

    private async Task<bool> TryRequeueAsync(string id, string reason, CancellationToken cancellationToken)
    {
        // Read whole and decide again: a worker may have taken the job, or it may have been requeued for later, since the scan.
        var now = time.GetUtcNow();
        if (await jobs.GetAsync(id, cancellationToken) is not { IsTerminal: false } job || job.Status switch
            {
                JobStatus.Running => job.LeaseUntil is { } until && until + Slack >= now,
                _ => job.RetryAt is { } retryAt && retryAt >= now - options.Value.StaleQueuedAfter,
            })
        {
            return false;
        }
        try
        {
            // The ETag makes this the one sweeper, and after the dead worker's lease: a live worker's renewal would have changed it.
            await jobs.UpdateAsync(job with { Status = JobStatus.Queued, LeaseUntil = null, RetryAt = null }, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
        await queue.EnqueueAsync(job.Id, cancellationToken);
        JobsLog.Swept(logger, job.Id, reason, job.Status, job.ModelCalls);
        return true;
    }
}
