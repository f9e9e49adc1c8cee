using Azure;
using Functions.Core.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs;

/// <summary>
/// Which delivery of a job's queue message owns the job. Taking it sets it Running for one more model call, until
/// <see cref="ResilienceOptions.ProcessingLease"/> from now, with the row's ETag: of two deliveries only one wins.
/// The lease is short and a <see cref="LeaseHeartbeat"/> renews it while the model call runs, so a job whose worker
/// died is found (lease lapsed) within seconds by the <see cref="JobSweeper"/>. A delivery that fails before it
/// finishes gives the lease back, so a redelivery can run the job at once.
/// </summary>
public sealed class JobLeases(JobTable jobs, IOptions<ResilienceOptions> options, TimeProvider time, ILogger<JobLeases> logger)
{
    /// <summary>Past a lease's end before a held job is looked at again, so clocks a little apart still see it ended.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(2);

    /// <returns>How long until another delivery's lease on the job ends (with slack), or null when nobody holds it.</returns>
    public TimeSpan? HeldElsewhereFor(Job job) =>
        job.Status == JobStatus.Running && job.LeaseUntil is { } until && until > time.GetUtcNow()
            ? until - time.GetUtcNow() + Slack
            : null;

    /// <returns>The job as this delivery now holds it, or null when another delivery changed it first.</returns>
    public async Task<Job?> TakeAsync(Job job, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        try
        {
            return await jobs.UpdateAsync(job with
            {
                Status = JobStatus.Running, StartedAt = job.StartedAt ?? now, ModelCalls = job.ModelCalls + 1,
                LeaseUntil = now + options.Value.ProcessingLease, RetryAt = null,
            }, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            JobsLog.TakenElsewhere(logger, job.Id);
            return null;
        }
    }

    /// <summary>Renews the lease on <paramref name="held"/> until stopped; see <see cref="LeaseHeartbeat"/>.</summary>
    public LeaseHeartbeat Hold(Job held) =>
        new(held, jobs, options.Value.LeaseHeartbeat, options.Value.ProcessingLease, time, logger);

    /// <summary>
    /// Gives back <paramref name="held"/>, this delivery's own Running write, by its ETag: a 412 means another delivery
    /// owns the job now, so it is left alone. Never throws: it runs on the way out of a failure.
    /// </summary>
    public async Task ReleaseAsync(Job? held)
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
            JobsLog.ReleaseFailed(logger, held.Id, ex.Status);
        }
    }
}
