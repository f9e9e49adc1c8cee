using Functions.Core.Callers;
using Functions.Core.Http;
using Functions.Core.RateLimits;
using Functions.Core.Storage;
using Microsoft.AspNetCore.Http;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// <c>GET /api/chat/{id}/stream</c>: a job's answer as Server-Sent Events while it is written, for the job's owner. The
/// owner is the request's caller, as for GET, or whoever presents the <c>token</c> of the job's <c>streamUrl</c> (an
/// <c>EventSource</c> cannot send credentials). A reconnect's <c>Last-Event-ID</c> header (or a new EventSource's
/// <c>lastEventId</c> query parameter) resumes after that delta. Each opening counts as one request against the job
/// owner's rate limit (no tokens: the job's were reserved when it was submitted), so a reconnect loop cannot hammer the
/// tables. The stream itself is <see cref="JobStreamReader"/>'s.
/// </summary>
public sealed class JobStreamHandler(CallerResolver callers, JobTable jobs, StreamTokens tokens, JobStreamReader reader,
    CallerRateLimiter rateLimits)
{
    public const string TokenParameter = "token";
    public const string LastEventIdParameter = "lastEventId";
    public const string LastEventIdHeader = "Last-Event-ID";

    public async Task<IResult> HandleAsync(HttpRequest request, string id, CancellationToken cancellationToken)
    {
        StreamToken? token = null;
        string? caller = null;
        if (request.Query[TokenParameter].ToString() is { Length: > 0 } presented)
        {
            token = StreamToken.TryParse(presented);
            if (token is null || tokens.IsExpired(token))
            {
                return JobStreamProblems.InvalidToken();
            }
        }
        else if ((caller = callers.Resolve(request)) is null)
        {
            return ApiProblems.Unauthorized();
        }

        var (job, problem) = await OwnedJob.ReadAsync(jobs, id, caller, cancellationToken);
        if (job is null)
        {
            return problem!;
        }
        if (token is not null && !await tokens.IsValidAsync(token, job.Id, job.Caller, cancellationToken))
        {
            return JobStreamProblems.InvalidToken();
        }

        var lastEventId = StreamReplay.ParseLastEventId(request.Headers[LastEventIdHeader].FirstOrDefault())
                          ?? StreamReplay.ParseLastEventId(request.Query[LastEventIdParameter].FirstOrDefault());
        try
        {
            // The limits' headers go out with the stream's own, before its first byte.
            return await rateLimits.AdmitRequestAsync(job.Caller, callers.Roles(request),
                () => Task.FromResult<IResult>(new DeferredResult(context => reader.StreamAsync(context, job, lastEventId))));
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            return ApiProblems.StorageUnavailable();
        }
    }
}
