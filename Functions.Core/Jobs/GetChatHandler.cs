using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Http;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Jobs;

/// <summary><c>GET /api/chat/{id}</c>: a job's status and result, for the caller that created it and nobody else.</summary>
public sealed class GetChatHandler(CallerResolver callers, JobTable jobs, PriceTable prices, TimeProvider time)
{
    /// <summary>How long a client should wait before polling an unfinished job again.</summary>
    public const string PollAfterSeconds = "1";

    public async Task<IResult> HandleAsync(HttpRequest request, string id, CancellationToken cancellationToken)
    {
        if (callers.Resolve(request) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }

        // Another caller's job answers exactly like a missing one, so ids cannot be probed.
        Job? job;
        try
        {
            job = JobIds.IsWellFormed(id) ? await jobs.GetAsync(id, cancellationToken) : null;
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            return ApiProblems.StorageUnavailable();
        }
        if (job is null || job.Caller != caller)
        {
            return ApiProblems.JobNotFound(id);
        }

        var headers = new Dictionary<string, string>();
        if (!job.IsTerminal)
        {
            headers[HeaderNames.RetryAfter] = PollAfter(job);
        }
        if (job.Cache is { } ticket)
        {
            headers[CacheStatus.HeaderName] = CacheStatus.Of(ticket);
        }
        return new WithHeadersResult(TypedResults.Ok(JobView.From(job, prices)), headers);
    }

    /// <summary>A job the model asked to wait is not worth polling before it runs again.</summary>
    private string PollAfter(Job job) =>
        job.RetryAt is { } retryAt && retryAt - time.GetUtcNow() is { TotalSeconds: > 1 } wait
            ? ((long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : PollAfterSeconds;
}
