using Azure;
using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Conversations;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.Jobs.Streams;
using Functions.Core.RateLimits;
using Functions.Core.Spend;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Functions.Core.Storage;
using Functions.Core.Telemetry;

namespace Functions.Core.Requests;

/// <summary>
/// <c>POST /api/chat</c>: validate, answer from the cache (200), or pass the caller's rate limits, reserve the request's
/// worst-case cost, record the job, queue it and answer 202 with where to poll. With an <c>Idempotency-Key</c> header, a
/// repeat of the same request by the same caller returns the same job. Every answer to a known caller carries its
/// rate-limit headers; an answer, a 202 and a budget refusal also carry what is left of its tightest budget (taken after
/// the reservation, so a 202 says what the caller has while this job's worst case is held).
/// </summary>
public sealed class SubmitChatHandler(
    CallerResolver callers,
    ChatRequestReader reader,
    CacheLookup cache,
    CallerRateLimiter rateLimits,
    WorstCaseTokens worstCase,
    BudgetReservations budgets,
    BudgetHeadrooms headrooms,
    JobTable jobs,
    JobQueue queue,
    StreamTokens streams,
    ConversationTurns conversations,
    Routing.ModelRouter router,
    TimeProvider time,
    ILogger<SubmitChatHandler> logger,
    ServerlessTelemetry? telemetry = null)
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>A replayed job still untouched after this long lost its queue message (a crash between row and message).</summary>
    private static readonly TimeSpan UnqueuedAfter = TimeSpan.FromSeconds(5);

    public async Task<IResult> HandleAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        using var span = telemetry?.StartSubmit(TelemetryNames.Routes.Chat);
        if (callers.Resolve(http) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }
        ServerlessTelemetry.TagCaller(caller);
        var roles = callers.Roles(http);
        var (result, admission) = await SubmitAsync(http, caller, roles, cancellationToken);
        return (admission ?? await rateLimits.PeekAsync(caller, roles, CancellationToken.None)).Apply(result);
    }

    /// <returns>The answer, and the rate-limit admission if the request got that far.</returns>
    private async Task<(IResult Result, RateLimitDecision? Admission)> SubmitAsync(HttpRequest http, string caller,
        IReadOnlySet<string> roles, CancellationToken cancellationToken)
    {
        var idempotencyKey = http.Headers[IdempotencyKeyHeader].ToString();
        if (idempotencyKey.Length > 0 && !JobIds.IsValidIdempotencyKey(idempotencyKey))
        {
            return (ApiProblems.Validation(new Dictionary<string, string[]>
            {
                [IdempotencyKeyHeader] = ["Must be 1 to 255 visible ASCII characters."],
            }), null);
        }

        var (request, problem) = await reader.ReadAsync(http, cancellationToken);
        if (request is null)
        {
            return (problem!, null);
        }

        var idempotent = idempotencyKey.Length > 0;
        var id = idempotent ? JobIds.ForIdempotencyKey(caller, idempotencyKey) : JobIds.New(time);
        BegunTurn? turn = null;
        if (request.Conversation is { } conversation)
        {
            // A replay must not take the conversation again; a new turn takes it and gets its history added.
            var submitted = new Job(id, caller, JobStatus.Queued, request, time.GetUtcNow(),
                Conversation: new ConversationTurn(conversation.Id, 0, 0, 0, false, 0, ConversationTurns.Fingerprint(request)));
            if (idempotent && await TryReplayAsync(submitted) is { } replay)
            {
                return (replay, null);
            }
            var (begun, refused) = await conversations.BeginAsync(caller, request, id, hold: null, cancellationToken);
            if (begun is null)
            {
                return (refused!, null);
            }
            (turn, request) = (begun, begun.Request);
        }
        request = router.Route(request, roles); // before the cache, limits and budget: they see the model called first

        // A turn's answer is appended by the worker, so it never takes a hit here: the worker's single flight serves it.
        var cached = idempotent || turn is not null
            ? cache.TicketOnly(caller, request, http)
            : await cache.LookupAsync(caller, request, http, cancellationToken);
        telemetry?.CacheLookedUp(cached.Hit is not null, cached.Ticket is not null);
        if (cached.Hit is { } hit)
        {
            return (WithBudget(hit, caller), null); // answered before the limits: a hit admits no work
        }

        var job = new Job(id, caller, JobStatus.Queued, request, time.GetUtcNow(), Cache: cached.Ticket, Conversation: turn?.Turn);
        // From here the reservation, the row and the message are one unit: a client that hangs up must not tear them
        // apart, so no write below takes the request's cancellation token.
        // A replay holds no new reservation: the original job's covers it.
        if (idempotent && turn is null && await TryReplayAsync(job) is { } replayed)
        {
            return (replayed, null);
        }

        RateLimitDecision admission;
        try
        {
            admission = await rateLimits.AdmitAsync(caller, roles, worstCase.For(request), CancellationToken.None);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            RequestsLog.StorageFailed(logger, ex);
            await TryReleaseTurnAsync(job, turn);
            return (ApiProblems.StorageUnavailable(), null);
        }
        if (!admission.Admitted)
        {
            await TryReleaseTurnAsync(job, turn);
            return (admission.Problem(time.GetUtcNow()), admission);
        }
        try
        {
            if (await budgets.ReserveAsync(job, CancellationToken.None) is { } exceeded)
            {
                await rateLimits.ReleaseAsync(job, CancellationToken.None);
                await TryReleaseTurnAsync(job, turn);
                return (WithBudget(SpendProblems.BudgetExceeded(exceeded, time.GetUtcNow()), caller), admission);
            }
            job = await jobs.AddAsync(job, CancellationToken.None);
        }
        catch (RequestFailedException ex) when (ex.Status == StatusCodes.Status409Conflict && idempotent)
        {
            // Lost a race with the same key: give back this submit's own hold; the winner's job carries its own (and
            // holds the conversation under the same id).
            await TryReleaseAsync(job);
            return (await TryReplayAsync(job) ?? ApiProblems.StorageUnavailable(), admission);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            RequestsLog.StorageFailed(logger, ex);
            await TryReleaseAsync(job);
            await TryReleaseTurnAsync(job, turn);
            return (ApiProblems.StorageUnavailable(), admission);
        }

        try
        {
            await queue.EnqueueAsync(job.Id, CancellationToken.None);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            // No worker will ever see the row: remove it (its id was never given out) and give back the hold, so the
            // 503 is true ("nothing was queued or charged") and a retry with the same Idempotency-Key starts afresh.
            RequestsLog.StorageFailed(logger, ex);
            await TryDeleteUnqueuedJobAsync(job);
            await TryReleaseAsync(job);
            await TryReleaseTurnAsync(job, turn);
            return (ApiProblems.StorageUnavailable(), admission);
        }

        System.Diagnostics.Activity.Current?.SetTag(TelemetryNames.Ours.JobId, job.Id); // the submit span
        RequestsLog.Accepted(logger, job.Id, CallerHash.Of(caller), request.Model, request.Messages.Count);
        return (await AcceptedAsync(job), admission);
    }

    /// <returns>The answer for a key already used, or null when no job has it yet.</returns>
    private async Task<IResult?> TryReplayAsync(Job submitted)
    {
        try
        {
            return await jobs.GetAsync(submitted.Id, CancellationToken.None) is { } existing
                ? await ReplayAsync(existing, submitted)
                : null;
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            RequestsLog.StorageFailed(logger, ex);
            return ApiProblems.StorageUnavailable();
        }
    }

    /// <summary>
    /// The same key and body: answer with the existing job. One still untouched a few seconds on (its message lost in
    /// a crash between row and message) is sent again; a duplicate message is harmless (a second delivery finds the
    /// job taken, held or finished).
    /// </summary>
    private async Task<IResult> ReplayAsync(Job existing, Job submitted)
    {
        if (existing.Caller != submitted.Caller || Fingerprint(existing) != Fingerprint(submitted))
        {
            return ApiProblems.IdempotencyKeyReused();
        }

        if (existing is { Status: JobStatus.Queued, ModelCalls: 0, RetryAt: null }
                 && time.GetUtcNow() - existing.CreatedAt > UnqueuedAfter)
        {
            await queue.EnqueueAsync(existing.Id, CancellationToken.None);
        }
        RequestsLog.Replayed(logger, existing.Id, CallerHash.Of(existing.Caller), existing.Status);
        return await AcceptedAsync(existing);
    }

    private async Task<WithHeadersResult> AcceptedAsync(Job job)
    {
        var statusUrl = JobRoutes.StatusUrl(job.Id);
        var streamUrl = await streams.StreamUrlAsync(job, CancellationToken.None);
        return new WithHeadersResult(
            TypedResults.Accepted(statusUrl, new AcceptedJobView(job.Id, job.Status.ToString(), statusUrl, streamUrl)),
            new Dictionary<string, string>
            {
                [HeaderNames.RetryAfter] = GetChatHandler.PollAfterSeconds,
                [CacheStatus.HeaderName] = job.Cache is { } ticket ? CacheStatus.Of(ticket) : CacheStatus.Bypass,
            }.Concat(Routing.RouteHeaders.Of(job.Request)).Concat(headrooms.HeadersFor(job.Caller, time.GetUtcNow())).ToDictionary());
    }

    private WithHeadersResult WithBudget(IResult result, string caller) => new(result, headrooms.HeadersFor(caller, time.GetUtcNow()));

    /// <summary>What a replay is compared by: the request as submitted (a conversation turn's history changes).</summary>
    /// A fallback since then changed the stored request's model and route state, not what was submitted.
    private static string Fingerprint(Job job) => job.Conversation?.Fingerprint ?? JobTable.SerializeRequest(job.Request with
    {
        Model = job.Request.Route?.Candidates[0] ?? job.Request.Model,
        Route = null,
    });

    private Task TryReleaseTurnAsync(Job job, BegunTurn? turn) =>
        turn is null ? Task.CompletedTask : conversations.ReleaseAsync(job.Caller, job.Id, turn);

    private async Task TryDeleteUnqueuedJobAsync(Job job)
    {
        try
        {
            await jobs.DeleteAsync(job, CancellationToken.None);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            RequestsLog.StorageFailed(logger, ex);
        }
    }

    private async Task TryReleaseAsync(Job job)
    {
        await rateLimits.ReleaseAsync(job, CancellationToken.None); // never throws: a lost release only keeps the limit stricter
        await budgets.TryReleaseAsync(job);
    }

}
