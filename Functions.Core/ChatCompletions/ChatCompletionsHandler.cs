using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Functions.Core.ChatCompletions;

/// <summary>
/// <c>POST /api/v1/chat/completions</c>, the interactive door: OpenAI's wire format in and out, answered while the
/// caller waits (JSON, or SSE with <c>stream: true</c>). It passes the same guards as <c>/api/chat</c>, in the same
/// order: the caller, the shared validation, the response cache (a hit never reaches the model), the caller's rate
/// limits and the budget's worst-case reservation. Every answer to a known caller carries its rate-limit headers, a
/// stream's before its first byte. The call itself, its recording and the answer are <see cref="ChatCompletionRunner"/>'s.
/// </summary>
public sealed class ChatCompletionsHandler(
    CallerResolver callers,
    ChatCompletionRequestReader reader,
    CacheLookup cache,
    CallerRateLimiter rateLimits,
    WorstCaseTokens worstCase,
    BudgetReservations budgets,
    ChatCompletionRunner runner,
    TimeProvider time,
    ILogger<ChatCompletionsHandler> logger)
{
    public async Task<IResult> HandleAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        if (callers.Resolve(http) is not { } caller)
        {
            return OpenAIErrors.FromProblem(ApiProblems.Unauthorized());
        }
        var roles = callers.Roles(http);
        var (result, admission) = await AnswerAsync(http, caller, roles, cancellationToken);
        return (admission ?? await PeekAsync(caller, roles)).Apply(result);
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

        var (ticket, hit) = await cache.FindAsync(caller, call.Request, http, cancellationToken);
        var id = JobIds.New(time);
        if (hit is not null)
        {
            ChatCompletionsLog.CacheHit(logger, id, caller);
            return (runner.Answer(call, id, hit.Entry.Result, new Dictionary<string, string>
            {
                [CacheStatus.HeaderName] = CacheStatus.Hit(hit.FreshFor),
                [Microsoft.Net.Http.Headers.HeaderNames.Age] = hit.AgeHeader,
            }), null);
        }

        // An interactive call is a job that lives only as long as its request: the same limits, reservation, ledger rows
        // and settlement as a queued one, without a row in the jobs table.
        var job = new Job(id, caller, JobStatus.Running, call.Request, time.GetUtcNow(), Cache: ticket);
        RateLimitDecision? admission = null;
        try
        {
            admission = await rateLimits.AdmitAsync(caller, roles, worstCase.For(call.Request), CancellationToken.None);
            if (!admission.Admitted)
            {
                return (OpenAIErrors.FromProblem(admission.Problem(time.GetUtcNow())), admission);
            }
            if (await budgets.ReserveAsync(job, CancellationToken.None) is { } exceeded)
            {
                await rateLimits.ReleaseAsync(job, CancellationToken.None);
                return (OpenAIErrors.FromProblem(SpendProblems.BudgetExceeded(exceeded, time.GetUtcNow())), admission);
            }
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            ChatCompletionsLog.StorageFailed(logger, ex);
            if (admission is not null)
            {
                await rateLimits.ReleaseAsync(job, CancellationToken.None);
            }
            return (OpenAIErrors.FromProblem(ApiProblems.StorageUnavailable()), admission);
        }
        return (runner.Run(call, job), admission);
    }

    /// <summary>The caller's limits for an answer that admitted nothing; none when storage does not answer (the answer stands).</summary>
    private async Task<RateLimitDecision> PeekAsync(string caller, IReadOnlySet<string> roles)
    {
        try
        {
            return await rateLimits.PeekAsync(caller, roles, CancellationToken.None);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            ChatCompletionsLog.StorageFailed(logger, ex);
            return RateLimitDecision.Unlimited;
        }
    }
}
