using System.Text.Json;
using Functions.Core.Cache;
using Functions.Core.Completions;
using Functions.Core.Conversations;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Resilience;
using Functions.Core.Routing;
using Functions.Core.Spend;
using Functions.Core.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.ChatCompletions;

/// <summary>
/// Runs an admitted interactive call while its client waits, through the same parts as the queue worker: the
/// single flight, <see cref="ModelCaller"/> (gate, circuit, classification, back-off) and
/// <see cref="PaidCallRecorder"/> (ledger, settlement). It is the one retry owner of the request, and retries only
/// while no content has reached the client (a second attempt's text must never follow the first's) and the wait is
/// short. Every call that generated anything is recorded once, also when the stream broke off or the client hung up
/// (then with usage estimated by the tokenizer); a reservation nothing was charged to (budget and the caller's
/// tokens) is given back. What is left of the caller's tightest budget goes out with the answer: a stream's as its
/// headers leave before the model call (this call's worst case held), a JSON answer's after the call is settled.
/// </summary>
public sealed class ChatCompletionRunner(
    SingleFlight cacheStore,
    ModelCaller model,
    PaidCallRecorder recorder,
    StaleAnswers stale,
    BudgetReservations budgets,
    BudgetHeadrooms headrooms,
    CallerRateLimiter rateLimits,
    ICacheSavingsRecorder savings,
    PriceTable prices,
    ConversationTurns conversations,
    IOptions<ChatCompletionsOptions> options,
    TimeProvider time,
    ILogger<ChatCompletionRunner> logger,
    ServerlessTelemetry? telemetry = null)
{
    public const string RequestIdHeader = "x-request-id";

    /// <summary>A caller waiting for its first token reads the shared gate at most once a second (per instance).</summary>
    private static readonly TimeSpan GateStaleness = TimeSpan.FromSeconds(1);

    /// <summary>The answer to <paramref name="call"/>, once the host executes the result.</summary>
    /// <param name="flight">A cacheable call's single flight, as it is being joined; null for a call that is not cacheable.</param>
    public IResult Run(ChatCompletionCall call, Job job, Task<InteractiveFlight>? flight) =>
        new DeferredResult(context => RunAsync(context, call, job, flight));

    /// <summary>A stored answer, as JSON or replayed as a stream; no model call. A conversation turn is appended first.</summary>
    public IResult Answer(ChatCompletionCall call, Job job, JobResult answer, IReadOnlyDictionary<string, string> headers) =>
        new DeferredResult(async context => await WriteAnswerAsync(context, call, job, await AppendTurnAsync(job, answer),
            new Dictionary<string, string>(headers).Concat(ConversationHeaders.Of(job.Conversation))
                .Concat(headrooms.HeadersFor(job.Caller, time.GetUtcNow())).ToDictionary(), context.RequestAborted));

    private async Task RunAsync(HttpContext context, ChatCompletionCall call, Job job, Task<InteractiveFlight>? joining)
    {
        var cancellationToken = context.RequestAborted;
        using var span = telemetry?.StartInteractive(job);
        var charged = false;
        var appended = false;
        try
        {
            await using var flight = joining is null ? null : await joining;
            if (flight?.Answered is { } collapsed)
            {
                ChatCompletionsLog.Collapsed(logger, job.Id);
                telemetry?.CacheOutcome(TelemetryNames.CacheOutcomes.Collapsed, TelemetryNames.Routes.ChatCompletions);
                await savings.TryRecordHitAsync(job.Caller, collapsed, logger);
                (collapsed, appended) = (await AppendTurnAsync(job, collapsed), true);
                await WriteAnswerAsync(context, call, job, collapsed,
                    Headers(job, job.Cache! with { Outcome = CacheOutcome.Collapsed }), cancellationToken);
                return;
            }

            // The stream's headers go out with its first event: a fallback before then still shows in x-model.
            var streamHeaders = Headers(job, job.Cache);
            var stream = call.Stream
                ? new ServerSentEvents(context.Response, streamHeaders, options.Value.KeepAliveInterval, time)
                : null;
            await using (stream)
            {
                var (answered, attempt) = await CallAsync(context, call, job, stream, streamHeaders, cancellationToken);
                charged = attempt.Charged;
                if (answered is null)
                {
                    return;
                }
                job = attempt.Job;
                // A stale answer is served as it is, never stored again as fresh.
                var stored = answered.Stale ? job : await cacheStore.StoreAsync(job.Succeed(answered, time.GetUtcNow()), CancellationToken.None);
                flight?.Complete(answered);
                // Before the answer ends: a client that has it whole finds the turn in the history.
                (answered, appended) = (await AppendTurnAsync(job, answered), true);
                if (stream is null)
                {
                    await WriteJsonAsync(context, job.Id, answered, Headers(stored, stored.Cache), job.Conversation);
                }
                else
                {
                    if (call.IncludeUsage)
                    {
                        await WriteDataAsync(stream, ChatCompletionJson.UsageChunk(ResponseId(job.Id), job.CreatedAt.ToUnixTimeSeconds(),
                            answered.Model, answered.Usage, CostUsd(answered)), cancellationToken);
                    }
                    await stream.WriteAsync(Done, cancellationToken);
                }
            }
            // The answer is whole and recorded: end the response now, so the client does not wait while the flight's
            // claim is given back.
            await context.Response.CompleteAsync();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away between calls or while being answered; what was paid for is recorded already.
        }
        finally
        {
            if (!charged)
            {
                await budgets.ReleaseAsync(job, CancellationToken.None);
                await rateLimits.ReleaseAsync(job, CancellationToken.None);
            }
            if (!appended)
            {
                await conversations.ReleaseAsync(job); // a turn with no whole answer appends nothing
            }
        }
    }

    /// <summary>Appends a conversation turn's question and answer (once); returns the answer as the conversation holds it.</summary>
    private async Task<JobResult> AppendTurnAsync(Job job, JobResult answer)
    {
        if (job.Conversation is null)
        {
            return answer;
        }
        try
        {
            return (await conversations.AppendAsync(job.Succeed(answer, time.GetUtcNow()))).Result!;
        }
        catch (Exception ex) when (Storage.StorageFailure.Is(ex))
        {
            // The answer is paid for and the client gets it; the history lacks the turn, and the conversation is given back.
            ChatCompletionsLog.StorageFailed(logger, ex);
            await conversations.ReleaseAsync(job);
            return answer;
        }
    }

    /// <summary>What the calls so far came to: the job as last called, and whether any call was charged to it.</summary>
    private sealed record Attempt(Job Job, bool Charged);

    /// <returns>The answer, or null once the failure has been written to the client.</returns>
    private async Task<(JobResult? Answer, Attempt Attempt)> CallAsync(HttpContext context, ChatCompletionCall call, Job job,
        ServerSentEvents? stream, Dictionary<string, string> streamHeaders, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var charged = false;
        var sentContent = false;
        var maxWait = options.Value.MaxUpstreamWait;
        for (var number = 1; ; number++)
        {
            // The gate, then an upstream slot: a wait within the bound is sat out (a slot found is held for this request, and
            // asking again takes it); past the bound, a closed gate is 503 and a fully booked model 429, both with Retry-After.
            var waited = TimeSpan.Zero;
            while (await model.WaitBeforeCallAsync(job, maxWait - waited, cancellationToken, GateStaleness) is { } gate)
            {
                if (gate.FallBack is { } fallback)
                {
                    job = FallBack(job, fallback, streamHeaders);
                    continue;
                }
                if (gate.Delay > maxWait - waited || model.IsExhausted(job))
                {
                    await WriteFailureAsync(context, stream, job, gate.Reason == ModelCaller.Paced
                        ? new ModelCallException(OpenAIErrors.UpstreamRateLimited,
                            $"The model's rate limits for this backend have no room for this request for {Math.Ceiling(gate.Delay.TotalSeconds)} s; try again then.",
                            isTransient: true, status: StatusCodes.Status429TooManyRequests)
                        : new ModelCallException("upstream_unavailable", $"The model is not being called right now ({gate.Reason}); try again shortly.",
                            isTransient: true), gate.Delay);
                    return (null, new Attempt(job, charged));
                }
                await Task.Delay(gate.Delay, time, cancellationToken);
                waited += gate.Delay;
            }

            job = job with { ModelCalls = number, StartedAt = job.StartedAt ?? time.GetUtcNow() };
            var first = !sentContent;
            var outcome = stream is null
                ? await model.CallAsync(job, cancellationToken)
                : await model.StreamAsync(job, async (delta, token) =>
                {
                    if (delta.Content is null && delta.ToolCalls is null && delta.FinishReason is null)
                    {
                        return; // a role-only or usage-only update: the usage chunk is ours to write, when asked for
                    }
                    await WriteDataAsync(stream, ChatCompletionJson.Chunk(ResponseId(job.Id), job.CreatedAt.ToUnixTimeSeconds(),
                        job.Request.Model, delta, first), token);
                    first = false;
                    sentContent = true;
                }, cancellationToken);

            if (outcome.Paid is { } paid)
            {
                await recorder.RecordAsync(job, paid);
                charged = true;
            }
            if (outcome.Result is { } result)
            {
                ChatCompletionsLog.Completed(logger, job.Id, result.Model, result.Usage.InputTokens, result.Usage.OutputTokens,
                    result.Usage.Estimated ? " (estimated)" : "", number, (long)time.GetElapsedTime(started).TotalMilliseconds);
                return (result, new Attempt(job, charged));
            }

            var error = outcome.Error!;
            if (error.Code == "cancelled")
            {
                ChatCompletionsLog.Cancelled(logger, job.Id, number);
                return (null, new Attempt(job, charged));
            }
            if (outcome.FallBack is { } next && !sentContent)
            {
                job = FallBack(job, next, streamHeaders);
                continue;
            }
            if (outcome.RetryIn is { } wait && !sentContent && !model.IsExhausted(job) && wait <= maxWait)
            {
                await Task.Delay(wait, time, cancellationToken);
                continue;
            }
            if (!sentContent && await stale.FindAsync(job, CancellationToken.None) is { } served)
            {
                // Every candidate failed; the route takes an expired answer over none (stale-if-error).
                streamHeaders[CacheStatus.HeaderName] = CacheStatus.Of(served.Job.Cache!);
                await StreamStaleAsync(stream, served.Job, served.Answer, cancellationToken);
                return (served.Answer, new Attempt(served.Job, charged));
            }
            ChatCompletionsLog.Failed(logger, job.Id, error.Code, number);
            await WriteFailureAsync(context, stream, job, error, outcome.RetryIn);
            return (null, new Attempt(job, charged));
        }
    }

    /// <summary>A stale answer on a stream the model never began: its pieces, as a stored answer is replayed.</summary>
    private static async Task StreamStaleAsync(ServerSentEvents? stream, Job job, JobResult answer, CancellationToken cancellationToken)
    {
        if (stream is null)
        {
            return;
        }
        var first = true;
        foreach (var piece in Pieces(answer))
        {
            await WriteDataAsync(stream, ChatCompletionJson.Chunk(ResponseId(job.Id), job.CreatedAt.ToUnixTimeSeconds(), answer.Model, piece, first),
                cancellationToken);
            first = false;
        }
    }

    /// <summary>On to the route's next candidate; a stream not yet started will say so in its headers.</summary>
    private static Job FallBack(Job job, Requests.ChatRequest next, Dictionary<string, string> streamHeaders)
    {
        job = job with { Request = next };
        foreach (var (name, value) in RouteHeaders.Of(job.Request))
        {
            streamHeaders[name] = value;
        }
        return job;
    }

    private static async Task WriteFailureAsync(HttpContext context, ServerSentEvents? stream, Job job, ModelCallException error,
        TimeSpan? retryAfter)
    {
        if (stream is { Started: true })
        {
            // After the first byte the status is spent: the SDKs raise an "error" event as an APIError.
            await WriteDataAsync(stream, new { error = OpenAIErrors.Of(error) }, CancellationToken.None);
            return;
        }
        context.Response.Headers[RequestIdHeader] = job.Id;
        await OpenAIErrors.FromModelFailure(error, retryAfter).ExecuteAsync(context);
    }

    private async Task WriteAnswerAsync(HttpContext context, ChatCompletionCall call, Job job, JobResult answer,
        IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var id = job.Id;
        var all = new Dictionary<string, string>(headers) { [RequestIdHeader] = id };
        if (!call.Stream)
        {
            await WriteJsonAsync(context, id, answer, all, job.Conversation);
            return;
        }

        await using var stream = new ServerSentEvents(context.Response, all, options.Value.KeepAliveInterval, time);
        var responseId = ResponseId(id);
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var first = true;
        foreach (var piece in Pieces(answer))
        {
            await WriteDataAsync(stream, ChatCompletionJson.Chunk(responseId, created, answer.Model, piece, first), cancellationToken);
            first = false;
        }
        if (call.IncludeUsage)
        {
            await WriteDataAsync(stream, ChatCompletionJson.UsageChunk(responseId, created, answer.Model, answer.Usage, CostUsd(answer)), cancellationToken);
        }
        await stream.WriteAsync(Done, cancellationToken);
    }

    /// <summary>A stored answer as the deltas a stream of it would have had: its text in pieces, tool calls, the finish.</summary>
    private static IEnumerable<ChatDelta> Pieces(JobResult answer)
    {
        foreach (var piece in AnswerPieces.Of(answer.Content))
        {
            yield return new ChatDelta(piece);
        }
        if (answer.ToolCalls is { } calls)
        {
            yield return new ChatDelta(ToolCalls: calls.Select((call, index) => new ToolCallDelta(index, call.Id, call.Name, call.Arguments)).ToList());
        }
        yield return new ChatDelta(FinishReason: answer.FinishReason);
    }

    private Task WriteJsonAsync(HttpContext context, string id, JobResult answer, IReadOnlyDictionary<string, string> headers,
        ConversationTurn? conversation)
    {
        foreach (var (name, value) in headers)
        {
            context.Response.Headers[name] = value;
        }
        context.Response.Headers[RequestIdHeader] = id;
        return TypedResults.Json(ChatCompletionJson.Completion(ResponseId(id), time.GetUtcNow().ToUnixTimeSeconds(), answer, CostUsd(answer), conversation),
            ChatCompletionJson.Options).ExecuteAsync(context);
    }

    /// <summary>
    /// An answer's headers, the budget's as it stands now: for a JSON answer, taken after the call, what is left once it is
    /// settled; for a stream, taken before the call, with its worst case held.
    /// </summary>
    private Dictionary<string, string> Headers(Job job, CacheTicket? ticket) => new Dictionary<string, string>
    {
        [RequestIdHeader] = job.Id,
        [CacheStatus.HeaderName] = ticket is null ? CacheStatus.Bypass : CacheStatus.Of(ticket),
    }.Concat(ConversationHeaders.Of(job.Conversation)).Concat(RouteHeaders.Of(job.Request))
        .Concat(headrooms.HeadersFor(job.Caller, time.GetUtcNow())).ToDictionary();

    private static string ResponseId(string id) => "chatcmpl-" + id;

    /// <summary>Priced as the ledger prices it (the job view's <c>costUsd</c> says the same for a queued answer).</summary>
    private decimal CostUsd(JobResult answer) => Money.Usd(prices.Cost(answer.Model, answer.Usage, time.GetUtcNow()).Micros);

    private static readonly ServerSentEvent Done = new("[DONE]");

    /// <summary>One OpenAI chunk (or error) as a <c>data:</c> event.</summary>
    private static Task WriteDataAsync(ServerSentEvents stream, object payload, CancellationToken cancellationToken) =>
        stream.WriteAsync(new ServerSentEvent(JsonSerializer.Serialize(payload, ChatCompletionJson.Options)), cancellationToken);
}
