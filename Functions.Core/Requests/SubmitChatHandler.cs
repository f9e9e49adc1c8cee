using Azure;
using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Requests;

/// <summary><c>POST /api/chat</c>: validate, answer from the cache (200) or record the job, queue it, answer 202 with where to poll.</summary>
public sealed class SubmitChatHandler(
    CallerResolver callers,
    ChatRequestReader reader,
    CacheLookup cache,
    JobTable jobs,
    JobQueue queue,
    TimeProvider time,
    ILogger<SubmitChatHandler> logger)
{
    public async Task<IResult> HandleAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        if (callers.Resolve(http) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }

        var (request, problem) = await reader.ReadAsync(http, cancellationToken);
        if (request is null)
        {
            return problem!;
        }

        var cached = await cache.LookupAsync(caller, request, http, cancellationToken);
        if (cached.Hit is { } hit)
        {
            return hit;
        }

        var job = new Job(JobIds.New(time), caller, JobStatus.Queued, request, time.GetUtcNow(), Cache: cached.Ticket);
        try
        {
            job = await jobs.AddAsync(job, cancellationToken);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            RequestsLog.StorageFailed(logger, ex);
            return ApiProblems.StorageUnavailable();
        }

        try
        {
            await queue.EnqueueAsync(job.Id, cancellationToken);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            // The row exists but no worker will ever see it: close it so no accepted-looking job is left hanging.
            RequestsLog.StorageFailed(logger, ex);
            await TryCloseUnqueuedJobAsync(job);
            return ApiProblems.StorageUnavailable();
        }

        RequestsLog.Accepted(logger, job.Id, caller, request.Model, request.Messages.Count);
        var statusUrl = JobRoutes.StatusUrl(job.Id);
        return new WithHeadersResult(
            TypedResults.Accepted(statusUrl, new AcceptedJobView(job.Id, job.Status.ToString(), statusUrl)),
            new Dictionary<string, string>
            {
                [HeaderNames.RetryAfter] = GetChatHandler.PollAfterSeconds,
                [CacheStatus.HeaderName] = cached.Status,
            });
    }

    private async Task TryCloseUnqueuedJobAsync(Job job)
    {
        try
        {
            await jobs.UpdateAsync(job.Fail(new JobError("enqueue_failed", "The job could not be queued."), time.GetUtcNow()),
                CancellationToken.None);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            RequestsLog.StorageFailed(logger, ex);
        }
    }

    private static bool IsStorageFailure(Exception ex) =>
        ex is RequestFailedException or AggregateException or HttpRequestException or TimeoutException;
}
