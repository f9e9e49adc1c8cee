using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Functions.Core.ChatCompletions;

/// <summary>
/// <c>POST /api/v1/chat/completions</c>, the interactive door: OpenAI's wire format in and out, answered while the
/// caller waits (JSON, or SSE with <c>stream: true</c>). It passes the same guards as <c>/api/chat</c>, in the same
/// order: the caller, the shared validation, the response cache (a hit never reaches the model), and the budget's
/// worst-case reservation. The call itself, its recording and the answer are <see cref="ChatCompletionRunner"/>'s.
/// </summary>
public sealed class ChatCompletionsHandler(
    CallerResolver callers,
    ChatCompletionRequestReader reader,
    CacheLookup cache,
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
        var (call, error) = await reader.ReadAsync(http, cancellationToken);
        if (call is null)
        {
            return error!;
        }

        var (ticket, hit) = await cache.FindAsync(caller, call.Request, http, cancellationToken);
        var id = JobIds.New(time);
        if (hit is not null)
        {
            ChatCompletionsLog.CacheHit(logger, id, caller);
            return runner.Answer(call, id, hit.Entry.Result, new Dictionary<string, string>
            {
                [CacheStatus.HeaderName] = CacheStatus.Hit(hit.FreshFor),
                [Microsoft.Net.Http.Headers.HeaderNames.Age] = hit.AgeHeader,
            });
        }

        // An interactive call is a job that lives only as long as its request: the same reservation, ledger rows and
        // settlement as a queued one, without a row in the jobs table.
        var job = new Job(id, caller, JobStatus.Running, call.Request, time.GetUtcNow(), Cache: ticket);
        try
        {
            if (await budgets.ReserveAsync(job, CancellationToken.None) is { } exceeded)
            {
                return OpenAIErrors.FromProblem(SpendProblems.BudgetExceeded(exceeded, time.GetUtcNow()));
            }
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            ChatCompletionsLog.StorageFailed(logger, ex);
            return OpenAIErrors.FromProblem(ApiProblems.StorageUnavailable());
        }
        return runner.Run(call, job);
    }
}
