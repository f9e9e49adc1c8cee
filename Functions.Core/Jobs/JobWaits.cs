using Functions.Core.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs;

public enum WaitOutcome
{
    /// <summary>A short wait was slept here: call again now.</summary>
    Waited,

    /// <summary>A long wait: the job went back to the queue, Queued with its retryAt, and this delivery is done.</summary>
    Requeued,

    /// <summary>The wait would end past the job's deadline: fail it.</summary>
    PastDeadline,
}

/// <summary>
/// How a queued job waits before its next model call. Short waits are slept inside the function; long ones leave
/// the instance (the job is set Queued with <see cref="Job.RetryAt"/> and a delayed message brings it back), so a
/// worker never sits idle on a 30-second retry hint. No wait may take a job past its deadline.
/// </summary>
public sealed class JobWaits(JobTable jobs, JobQueue queue, IOptions<ResilienceOptions> options, TimeProvider time, ILogger<JobWaits> logger)
{
    public bool IsPastDeadline(Job job, TimeSpan after = default) =>
        time.GetUtcNow() + after > job.CreatedAt + options.Value.JobDeadline;

    public async Task<WaitOutcome> WaitOrRequeueAsync(Job job, TimeSpan wait, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        if (IsPastDeadline(job, wait))
        {
            return WaitOutcome.PastDeadline;
        }
        if (wait <= settings.LongWaitThreshold)
        {
            await Task.Delay(wait, time, cancellationToken);
            return WaitOutcome.Waited;
        }

        job = await jobs.UpdateAsync(job with { Status = JobStatus.Queued, RetryAt = time.GetUtcNow() + wait, LeaseUntil = null },
            cancellationToken);
        await queue.RequeueAsync(job.Id, job.ModelCalls, wait, cancellationToken);
        JobsLog.Requeued(logger, job.Id, job.ModelCalls, (long)wait.TotalMilliseconds);
        return WaitOutcome.Requeued;
    }

    public JobError Deadline(Job job) => new("deadline_exceeded",
        $"The job did not finish within {options.Value.JobDeadline} of being accepted." +
        (job.LastError is { } last ? $" Last error: {last.Message}" : ""));
}
