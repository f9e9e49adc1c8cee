using System.Text.Json;
using Functions.Core.Http;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// Serves one connection to a job's stream: follows the job's log in Table Storage (<see cref="StreamReplay"/>) and its
/// row, writing <c>status</c>, <c>delta</c>, <c>restart</c> and finally <c>done</c> or <c>failed</c> as Server-Sent
/// Events. It only reads: it holds no lease and never slows the worker, and it works the same on any instance. While
/// deltas arrive it reads only the log (one query a poll); when a poll finds none it also reads the job, so a finished
/// job is seen within two polls of its last delta. A job waiting for its <c>retryAt</c> is looked at once a second.
/// </summary>
public sealed class JobStreamReader(
    JobTable jobs,
    JobStreamTable log,
    OpenStreams open,
    PriceTable prices,
    IOptions<JobStreamOptions> options,
    TimeProvider time,
    ILogger<JobStreamReader> logger)
{
    private static readonly TimeSpan WaitingPoll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DefaultRetry = TimeSpan.FromSeconds(1);

    /// <param name="job">The job as just read for this request, its caller already checked.</param>
    public async Task StreamAsync(HttpContext context, Job job, long? lastEventId)
    {
        using var slot = open.TryOpen(job.Caller);
        if (slot is null)
        {
            JobStreamsLog.TooManyOpen(logger, job.Caller, options.Value.MaxOpenPerCaller);
            await JobStreamProblems.TooManyOpen(options.Value.MaxOpenPerCaller).ExecuteAsync(context);
            return;
        }

        var cancellationToken = context.RequestAborted;
        var json = context.RequestServices.GetService<IOptions<JsonOptions>>()?.Value.SerializerOptions ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var replay = new StreamReplay(lastEventId);
        await using var events = new ServerSentEvents(context.Response, new Dictionary<string, string>(), options.Value.KeepAliveInterval, time);
        try
        {
            (JobStatus, DateTimeOffset?)? announced = null;
            var readJob = false; // the job was read for this request a moment ago
            while (true)
            {
                if (readJob)
                {
                    job = await jobs.GetAsync(job.Id, cancellationToken) ?? job;
                }
                // Read after the job: a worker writes its last deltas before it finishes the job, so once the job is seen
                // finished, this read has them all.
                var rows = await log.ReadAsync(job.Id, replay.LastRowKey, cancellationToken);
                foreach (var message in replay.Follow(rows))
                {
                    await events.WriteAsync(message, cancellationToken);
                }
                if (job.IsTerminal)
                {
                    foreach (var message in replay.Finish(job, JsonSerializer.Serialize(JobView.From(job, prices), json)))
                    {
                        await events.WriteAsync(message, cancellationToken);
                    }
                    return;
                }
                if (announced != (job.Status, job.RetryAt))
                {
                    announced = (job.Status, job.RetryAt);
                    await events.WriteAsync(new ServerSentEvent(JsonSerializer.Serialize(JobView.From(job, prices), json), StreamReplay.StatusEvent,
                        Retry: RetryFor(job)), cancellationToken);
                }
                readJob = rows.Count == 0;
                await Task.Delay(NextPoll(job), time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away; it reconnects with Last-Event-ID if it wants the rest.
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            JobStreamsLog.ReadFailed(logger, job.Id, ex);
            if (!events.Started)
            {
                await ApiProblems.StorageUnavailable().ExecuteAsync(context);
            }
            // Otherwise the stream just ends: EventSource reconnects by itself and resumes after its last delta.
        }
    }

    /// <summary>A job sent back to the queue until <see cref="Job.RetryAt"/> has nothing new before then.</summary>
    private TimeSpan RetryFor(Job job) =>
        job.RetryAt is { } retryAt && retryAt - time.GetUtcNow() is var wait && wait > DefaultRetry ? wait : DefaultRetry;

    private TimeSpan NextPoll(Job job) =>
        job.Status == JobStatus.Queued && job.RetryAt is { } retryAt && retryAt - time.GetUtcNow() > WaitingPoll
            ? WaitingPoll
            : options.Value.PollInterval;
}
