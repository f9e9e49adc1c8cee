using Functions.Core.RateLimits;
using Functions.Core.Requests;
using Functions.Core.Resilience;
using Functions.Core.Tokens;
using Microsoft.Extensions.Options;

namespace Functions.Core.Completions;

/// <summary>
/// Hold back for <see cref="Delay"/>: the shared gate is closed (its remaining closure plus a random spread), or the
/// model's upstream limits have no slot yet (<see cref="Reason"/> <see cref="ModelCaller.Paced"/>).
/// </summary>
/// <see cref="FallBack"/>: do not wait, call this request (the route's next candidate) instead.
public sealed record GateWait(TimeSpan Delay, string Reason, DateTimeOffset Until, Requests.ChatRequest? FallBack = null);

/// <summary>
/// The one way either door calls the model: the shared upstream gate before the call, and after it the failure
/// classified, the circuit breaker fed, a 429's retry hint shared with every instance, and the back-off to take
/// before another call. It never sleeps or loops itself: each door decides whether and how to wait (the queue worker
/// may send a job back to the queue; the interactive door may only retry before its first byte), so there is still
/// exactly one retry owner per request. The SDK's own retries are off (see ServiceCollectionExtensions).
/// It alone decides when a request leaves its model for the route's next candidate (<see cref="Routing.RoutePlan"/>):
/// the candidate's circuit is open (its gate closed), its calls are used up on transient failures, it is not found
/// (404), or it refused on content policy where the route says so. The gate and circuit go by endpoint and deployment,
/// so one provider's outage holds back only its own calls; a fallback is first re-checked against the budget.
/// </summary>
public sealed class ModelCaller(
    IChatModel model,
    Routing.ModelCatalog catalog,
    Spend.BudgetReservations budgets,
    UpstreamGate gate,
    CircuitBreaker circuit,
    RetryPolicy retryPolicy,
    TokenCounter tokens,
    UpstreamPacer pacer,
    IOptions<ResilienceOptions> options,
    TimeProvider time,
    Microsoft.Extensions.Logging.ILogger<ModelCaller> logger)
{
    public const string Paced = "paced";

    /// <summary>
    /// Before each call of the queue worker: the shared gate, then an upstream slot (see the other overload); a pacing wait
    /// no longer than the long-wait threshold (which the worker sleeps rather than requeues) holds the slot.
    /// </summary>
    public Task<GateWait?> WaitBeforeCallAsync(Jobs.Job job, CancellationToken cancellationToken) =>
        WaitBeforeCallAsync(job, options.Value.LongWaitThreshold, cancellationToken);

    /// <summary>
    /// Before each call: the shared gate, then an upstream slot for <paramref name="request"/> (see <see cref="UpstreamPacer"/>).
    /// Null means a slot is taken: call now. A pacing wait within <paramref name="holdWithin"/> holds the slot for this
    /// request object, so asking again once the wait is over finds it there; a longer one holds nothing.
    /// </summary>
    /// <param name="holdWithin">The longest pacing wait this door will sit out (the interactive door's bound).</param>
    /// <param name="maxStaleness">How old a look at the shared gate may be (see <see cref="UpstreamGate.ClosedUntilAsync"/>).</param>
    /// <returns>How long to hold back before calling, or null to call now.</returns>
    public async Task<GateWait?> WaitBeforeCallAsync(Jobs.Job job, TimeSpan holdWithin, CancellationToken cancellationToken,
        TimeSpan maxStaleness = default)
    {
        var request = job.Request;
        if (await gate.ClosedUntilAsync(GateKey(request), cancellationToken, maxStaleness) is { } closed)
        {
            // Calls made so far: the next one is the fallback's first.
            if (await FallBackAsync(job, job.ModelCalls + 1, closed.Reason, cancellationToken) is { } next)
            {
                return new GateWait(TimeSpan.Zero, closed.Reason, time.GetUtcNow(), next.Request);
            }
            return new GateWait(closed.Until - time.GetUtcNow() + retryPolicy.Spread(), closed.Reason, closed.Until);
        }
        return await pacer.TakeAsync(request, holdWithin, cancellationToken) is { } paced
            ? new GateWait(paced.Wait, Paced, time.GetUtcNow() + paced.Wait)
            : null;
    }

    /// <summary>
    /// Whether the job has used up its calls: those on its current candidate (every candidate gets 1 + MaxRetries), with
    /// no candidate left to fall back to once they are spent.
    /// </summary>
    public bool IsExhausted(Jobs.Job job) => CallsOnCandidate(job.Request, job.ModelCalls) > options.Value.MaxRetries;

    private static int CallsOnCandidate(ChatRequest request, int call) => request.Route?.CallsOnCandidate(call) ?? call;

    /// <summary>Call <see cref="Jobs.Job.ModelCalls"/> of <paramref name="job"/> (1 for the first): its number sets the back-off.</summary>
    public async Task<ModelCallOutcome> CallAsync(Jobs.Job job, CancellationToken cancellationToken)
    {
        var request = job.Request;
        try
        {
            var result = await model.CompleteAsync(request, cancellationToken);
            Settle(request, result);
            circuit.RecordSuccess(GateKey(request));
            return ModelCallOutcome.Answered(result);
        }
        catch (ModelCallException ex)
        {
            Settle(request, null);
            return await FailedAsync(job, ex, paid: null, cancellationToken);
        }
    }

    /// <summary>
    /// Streams call <paramref name="call"/>, handing each update to <paramref name="onDelta"/> as it arrives. A stream
    /// that breaks off, or is cancelled, after the model has begun to answer returns what it had generated as
    /// <see cref="ModelCallOutcome.Paid"/>, its usage estimated with the real tokenizer when the usage chunk never came.
    /// </summary>
    public async Task<ModelCallOutcome> StreamAsync(Jobs.Job job, Func<ChatDelta, CancellationToken, ValueTask> onDelta,
        CancellationToken cancellationToken)
    {
        var request = job.Request;
        var answer = new StreamedAnswer(request);
        try
        {
            await foreach (var delta in model.StreamAsync(request, cancellationToken))
            {
                answer.Add(delta);
                await onDelta(delta, cancellationToken);
            }
        }
        catch (ModelCallException ex)
        {
            var paid = answer.Paid(tokens);
            Settle(request, paid);
            return await FailedAsync(job, ex, paid, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var paid = answer.Paid(tokens);
            Settle(request, paid);
            return ModelCallOutcome.Cancelled(paid);
        }
        if (!answer.IsComplete)
        {
            var partial = answer.Paid(tokens);
            Settle(request, partial);
            return await FailedAsync(job, new ModelCallException("upstream_malformed_response",
                "The model's stream ended before its answer was complete.", isTransient: true), partial, cancellationToken);
        }
        var result = answer.ToResult(tokens);
        Settle(request, result);
        circuit.RecordSuccess(GateKey(request));
        return ModelCallOutcome.Answered(result);
    }

    /// <summary>Corrects the call's upstream slot to what it used (nothing, when it generated nothing).</summary>
    private void Settle(ChatRequest request, Jobs.JobResult? used) =>
        pacer.Settle(request, used is null ? null : used.Usage.InputTokens + used.Usage.OutputTokens);

    private async Task<ModelCallOutcome> FailedAsync(Jobs.Job job, ModelCallException ex, Jobs.JobResult? paid,
        CancellationToken cancellationToken)
    {
        var (request, call) = (job.Request, job.ModelCalls);
        if (!ex.IsTransient)
        {
            var leaves = ex.Code == "model_not_found"
                         || (request.Route is { FallbackOnContentFilter: true } && ex.UpstreamCode is "content_filter" or "content_policy_violation");
            return leaves && paid is null ? await FallBackOrAsync(job, ex, ModelCallOutcome.Failed(ex, paid), cancellationToken)
                : ModelCallOutcome.Failed(ex, paid);
        }
        var key = GateKey(request);
        if (ex.Status == 429 && ex.RetryAfter is { } hint)
        {
            // A 429 with a hint is the provider pacing us, not failing: the gate holds back for the hint, and the
            // circuit (an outage's 30-second break for every instance) is not its business. Counted, a handful of
            // 429s at a launch spike's edge stopped the whole fleet for the break.
            // Other instances hold back at most MaxBackoff on our word: past that they learn their own limits.
            var maxBackoff = options.Value.MaxBackoff;
            await gate.CloseUntilAsync(key, time.GetUtcNow() + (hint < maxBackoff ? hint : maxBackoff), "rate_limited", cancellationToken);
        }
        else
        {
            await circuit.RecordFailureAsync(key, cancellationToken);
        }
        var transient = ModelCallOutcome.Transient(ex, retryPolicy.Backoff(CallsOnCandidate(request, call), ex.RetryAfter), paid);
        // The candidate's calls are used up: the next one, at once, rather than giving up.
        return CallsOnCandidate(request, call) > options.Value.MaxRetries
            ? await FallBackOrAsync(job, ex, transient, cancellationToken)
            : transient;
    }

    /// <summary>The route's next candidate as an immediate retry, or <paramref name="otherwise"/> when there is none.</summary>
    private async Task<ModelCallOutcome> FallBackOrAsync(Jobs.Job job, ModelCallException ex, ModelCallOutcome otherwise,
        CancellationToken cancellationToken)
    {
        if (job.Request.Route?.Next is null)
        {
            return otherwise;
        }
        if (await FallBackAsync(job, job.ModelCalls + 1, ex.Code, cancellationToken) is not { } next)
        {
            return ModelCallOutcome.Failed(new ModelCallException("budget_exceeded",
                $"{ex.Message} The fallback model {job.Request.Route.Next} would not fit the budget, so it was not called.", isTransient: false),
                otherwise.Paid);
        }
        return ModelCallOutcome.FellBack(ex, otherwise.Paid, next.Request);
    }

    /// <summary>
    /// The job moved on to its route's next candidate from call <paramref name="nextCall"/>, its budget hold re-checked
    /// at that model's price; null when there is no candidate left or it would not fit the budget.
    /// </summary>
    private async Task<Jobs.Job?> FallBackAsync(Jobs.Job job, int nextCall, string reason, CancellationToken cancellationToken)
    {
        if (job.Request.Route is not { Next: { } nextModel } plan)
        {
            return null;
        }
        var moved = job with { Request = job.Request with { Model = nextModel, Route = plan.FallBack(nextCall, reason) } };
        if (await budgets.RecheckAsync(moved, CancellationToken.None) is not null)
        {
            return null;
        }
        CompletionsLog.FellBack(logger, job.Id, plan.Model, nextModel, reason);
        return moved;
    }

    private string GateKey(ChatRequest request) => catalog.Resolve(request.Model).GateKey;
}
