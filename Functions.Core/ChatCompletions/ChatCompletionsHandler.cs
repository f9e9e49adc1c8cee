using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Conversations;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Functions.Core.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Functions.Core.ChatCompletions;

/// <summary>
/// <c>POST /api/v1/chat/completions</c>, the interactive door: OpenAI's wire format in and out, answered while the
/// caller waits (JSON, or SSE with <c>stream: true</c>). It passes the same guards as <c>/api/chat</c>, in the same
/// order: the caller, the shared validation, a conversation turn's history (the same hook as the queue's), the response
/// cache (a hit never reaches the model; a turn's hit is appended to its conversation here, where on the queue door the
/// worker's single flight serves it), the caller's rate limits and the budget's worst-case reservation. Every
/// answer to a known caller carries its rate-limit headers, a stream's before its first byte; every answer and budget
/// refusal also carries what is left of the caller's tightest budget. The call itself, its recording and the answer
/// are <see cref="ChatCompletionRunner"/>'s.
/// </summary>
public sealed class ChatCompletionsHandler(
    CallerResolver callers,
    ChatCompletionRequestReader reader,
    ConversationTurns conversations,
    Routing.ModelRouter router,
    CacheLookup cache,
    InteractiveFlights flights,
    CallerRateLimiter rateLimits,
    WorstCaseTokens worstCase,
    BudgetReservations budgets,
    BudgetHeadrooms headrooms,
    ChatCompletionRunner runner,
    TimeProvider time,
    ILogger<ChatCompletionsHandler> logger,
    ServerlessTelemetry? telemetry = null)
{
    public async Task<IResult> HandleAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        using var span = telemetry?.StartSubmit(TelemetryNames.Routes.ChatCompletions);
        if (callers.Resolve(http) is not { } caller)
        {
            return OpenAIErrors.FromProblem(ApiProblems.Unauthorized());
        }
        ServerlessTelemetry.TagCaller(caller);
        var roles = callers.Roles(http);
        var (result, admission) = await AnswerAsync(http, caller, roles, cancellationToken);
        return (admission ?? await rateLimits.PeekAsync(caller, roles, CancellationToken.None)).Apply(result);
    }

    /// <returns>The answer, and the rate-limit admission if the request got that far.</returns>
    private async Task<(IResult Result, RateLimitDecision? Admission)> AnswerAsync(HttpRequest http, string caller,
        IReadOnlySet<string> roles, CancellationToken cancellationToken)
    {
        var (call, error) = await reader.ReadAsync(http, cancellationToken);
        if (call is null)
        {
            return (error!, null);
        }

        var id = JobIds.New(time);
        BegunTurn? turn = null;
        if (call.Request.Conversation is not null)
        {
            // A turn of a stored conversation: it takes the conversation and is sent with its history.
            var (begun, refused) = await conversations.BeginAsync(caller, call.Request, id, conversations.InteractiveHold, cancellationToken);
            if (begun is null)
            {
                return (OpenAIErrors.FromProblem(refused!), null);
            }
            (turn, call) = (begun, call with { Request = begun.Request });
        }
        call = call with { Request = router.Route(call.Request, roles) }; // before the cache, limits and budget, as on /api/chat

        var (ticket, hit) = await cache.FindAsync(caller, call.Request, http, cancellationToken);
        // An interactive call is a job that lives only as long as its request: the same limits, reservation, ledger rows
        // and settlement as a queued one, without a row in the jobs table.
        var job = new Job(id, caller, JobStatus.Running, call.Request, time.GetUtcNow(), Cache: ticket, Conversation: turn?.Turn);
        telemetry?.CacheLookedUp(hit is not null, ticket is not null, TelemetryNames.Routes.ChatCompletions);
        if (hit is not null)
        {
            ChatCompletionsLog.CacheHit(logger, id, CallerHash.Of(caller));
            await cache.RecordSavingAsync(caller, hit);
            return (runner.Answer(call, job, hit.Entry.Result, new Dictionary<string, string>
            {
                [CacheStatus.HeaderName] = CacheStatus.Hit(hit.FreshFor),
                [Microsoft.Net.Http.Headers.HeaderNames.Age] = hit.AgeHeader,
            }), null);
        }

        // A cacheable miss claims the key's single flight while the limits and the budget are checked: the reservation
        // comes from this instance's allowance, and when that has to grow, the grow and the claim are independent writes
        // that go out together.
        var flight = ticket is not null ? flights.JoinAsync(ticket, id, cancellationToken) : null;
        RateLimitDecision? admission = null;
        try
        {
            admission = await rateLimits.AdmitAsync(caller, roles, worstCase.For(call.Request), CancellationToken.None);
            if (!admission.Admitted)
            {
                Leave(flight);
                await ReleaseTurnAsync(caller, id, turn);
                return (OpenAIErrors.FromProblem(admission.Problem(time.GetUtcNow())), admission);
            }
            if (await budgets.ReserveHereAsync(job, CancellationToken.None) is { } exceeded)
            {
                Leave(flight);
                await rateLimits.ReleaseAsync(job, CancellationToken.None);
                await ReleaseTurnAsync(caller, id, turn);
                return (new WithHeadersResult(OpenAIErrors.FromProblem(SpendProblems.BudgetExceeded(exceeded, time.GetUtcNow())),
                    headrooms.HeadersFor(caller, time.GetUtcNow())), admission);
            }
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            ChatCompletionsLog.StorageFailed(logger, ex);
            Leave(flight);
            if (admission is not null)
            {
                // The fault may have come after one budget window had reserved (the day, before the month failed).
                await rateLimits.ReleaseAsync(job, CancellationToken.None);
                await budgets.TryReleaseAsync(job);
            }
            await ReleaseTurnAsync(caller, id, turn);
            return (OpenAIErrors.FromProblem(ApiProblems.StorageUnavailable()), admission);
        }
        return (runner.Run(call, job, flight), admission);
    }

    /// <summary>
    /// Gives up a flight claimed for a request that is refused: a leader's claim is given back (its followers then call
    /// alone) once the claim is made; a follower's wait is left to end by itself, so the refusal is not held up by it.
    /// </summary>
    private static void Leave(Task<InteractiveFlight>? flight)
    {
        if (flight is not null)
        {
            _ = LeaveAsync(flight);
        }

        static async Task LeaveAsync(Task<InteractiveFlight> joining)
        {
            try
            {
                await using var left = await joining;
            }
            catch (OperationCanceledException)
            {
                // The client went away while it waited: nothing was claimed.
            }
        }
    }

    private Task ReleaseTurnAsync(string caller, string id, BegunTurn? turn) =>
        turn is null ? Task.CompletedTask : conversations.ReleaseAsync(caller, id, turn);
}
