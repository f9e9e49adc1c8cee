using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Http;
using Functions.Core.Jobs.Streams;
using Functions.Core.Spend;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Jobs;

/// <summary>
/// <c>GET /api/chat/{id}</c>: a job's status and result, for the caller that created it and nobody else. An unfinished
/// job's view also names a fresh <c>streamUrl</c>, for a client whose earlier one has expired. It carries what is left of
/// the caller's tightest budget as this instance last saw it: settled, when this instance's worker ran the job.
/// </summary>
public sealed class GetChatHandler(CallerResolver callers, JobTable jobs, StreamTokens streams, PriceTable prices,
    BudgetHeadrooms headrooms, TimeProvider time)
{
    /// <summary>How long a client should wait before polling an unfinished job again.</summary>
    public const string PollAfterSeconds = "1";

    public async Task<IResult> HandleAsync(HttpRequest request, string id, CancellationToken cancellationToken)
    {
        if (callers.Resolve(request) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }

        var (job, problem) = await OwnedJob.ReadAsync(jobs, id, caller, cancellationToken);
        if (job is null)
        {
            return problem!;
        }

        var headers = new Dictionary<string, string>();
        var view = JobView.From(job, prices);
        if (!job.IsTerminal)
        {
            headers[HeaderNames.RetryAfter] = PollAfter(job);
            view = view with { StreamUrl = await streams.StreamUrlAsync(job, cancellationToken) };
        }
        if (job.Cache is { } ticket)
        {
            headers[CacheStatus.HeaderName] = CacheStatus.Of(ticket);
        }
        foreach (var (name, value) in Routing.RouteHeaders.Of(job.Request).Concat(headrooms.HeadersFor(caller, time.GetUtcNow())))
        {
            headers[name] = value;
        }
        return new WithHeadersResult(TypedResults.Ok(view), headers);
    }

    /// <summary>A job the model asked to wait is not worth polling before it runs again.</summary>
    private string PollAfter(Job job) =>
        job.RetryAt is { } retryAt && retryAt - time.GetUtcNow() is { TotalSeconds: > 1 } wait
            ? ((long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : PollAfterSeconds;
}
