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
public sealed record GateWait(TimeSpan Delay, string Reason, DateTimeOffset Until);

/// <summary>
/// The one way either door calls the model: the shared upstream gate before the call, and after it the failure
/// classified, the circuit breaker fed, a 429's retry hint shared with every instance, and the back-off to take
/// before another call. It never sleeps or loops itself: each door decides whether and how to wait (the queue worker
/// may send a job back to the queue; the interactive door may only retry before its first byte), so there is still
/// exactly one retry owner per request. The SDK's own retries are off (see ServiceCollectionExtensions).
/// </summary>
public sealed class ModelCaller(
    IChatModel model,
    UpstreamGate gate,
    CircuitBreaker circuit,
    RetryPolicy retryPolicy,
    TokenCounter tokens,
    UpstreamPacer pacer,
    IOptions<ResilienceOptions> options,
    TimeProvider time)
{
    public const string Paced = "paced";

    /// <summary>
    /// Before each call of the queue worker: the shared gate, then an upstream slot (see the other overload); a pacing wait
    /// no longer than the long-wait threshold (which the worker sleeps rather than requeues) holds the slot.
    /// </summary>
    public Task<GateWait?> WaitBeforeCallAsync(ChatRequest request, CancellationToken cancellationToken) =>
        WaitBeforeCallAsync(request, options.Value.LongWaitThreshold, cancellationToken);

    /// <summary>
    /// Before each call: the shared gate, then an upstream slot for <paramref name="request"/> (see <see cref="UpstreamPacer"/>).
    /// Null means a slot is taken: call now. A pacing wait within <paramref name="holdWithin"/> holds the slot for this
    /// request object, so asking again once the wait is over finds it there; a longer one holds nothing.
    /// </summary>
    /// <param name="holdWithin">The longest pacing wait this door will sit out (the interactive door's bound).</param>
    /// <param name="maxStaleness">How old a look at the shared gate may be (see <see cref="UpstreamGate.ClosedUntilAsync"/>).</param>
    /// <returns>How long to hold back before calling, or null to call now.</returns>
    public async Task<GateWait?> WaitBeforeCallAsync(ChatRequest request, TimeSpan holdWithin, CancellationToken cancellationToken,
        TimeSpan maxStaleness = default)
    {
        if (await gate.ClosedUntilAsync(cancellationToken, maxStaleness) is { } closed)
        {
            return new GateWait(closed.Until - time.GetUtcNow() + retryPolicy.Spread(), closed.Reason, closed.Until);
        }
        return await pacer.TakeAsync(request, holdWithin, cancellationToken) is { } paced
            ? new GateWait(paced.Wait, Paced, time.GetUtcNow() + paced.Wait)
            : null;
    }

    /// <param name="call">This call's number among the request's calls (1 for the first): it sets the back-off.</param>
    public async Task<ModelCallOutcome> CallAsync(ChatRequest request, int call, CancellationToken cancellationToken)
    {
        try
        {
            var result = await model.CompleteAsync(request, cancellationToken);
            Settle(request, result);
            circuit.RecordSuccess();
            return ModelCallOutcome.Answered(result);
        }
        catch (ModelCallException ex)
        {
            Settle(request, null);
            return await FailedAsync(ex, call, paid: null, cancellationToken);
        }
    }

    /// <summary>
    /// Streams call <paramref name="call"/>, handing each update to <paramref name="onDelta"/> as it arrives. A stream
    /// that breaks off, or is cancelled, after the model has begun to answer returns what it had generated as
    /// <see cref="ModelCallOutcome.Paid"/>, its usage estimated with the real tokenizer when the usage chunk never came.
    /// </summary>
    public async Task<ModelCallOutcome> StreamAsync(ChatRequest request, int call, Func<ChatDelta, CancellationToken, ValueTask> onDelta,
        CancellationToken cancellationToken)
    {
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
            return await FailedAsync(ex, call, paid, cancellationToken);
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
            return await FailedAsync(new ModelCallException("upstream_malformed_response",
                "The model's stream ended before its answer was complete.", isTransient: true), call, partial, cancellationToken);
        }
        var result = answer.ToResult(tokens);
        Settle(request, result);
        circuit.RecordSuccess();
        return ModelCallOutcome.Answered(result);
    }

    /// <summary>Corrects the call's upstream slot to what it used (nothing, when it generated nothing).</summary>
    private void Settle(ChatRequest request, Jobs.JobResult? used) =>
        pacer.Settle(request, used is null ? null : used.Usage.InputTokens + used.Usage.OutputTokens);

    private async Task<ModelCallOutcome> FailedAsync(ModelCallException ex, int call, Jobs.JobResult? paid,
        CancellationToken cancellationToken)
    {
        if (!ex.IsTransient)
        {
            return ModelCallOutcome.Failed(ex, paid);
        }
        if (ex.Status == 429 && ex.RetryAfter is { } hint)
        {
            // A 429 with a hint is the provider pacing us, not failing: the gate holds back for the hint, and the
            // circuit (an outage's 30-second break for every instance) is not its business. Counted, a handful of
            // 429s at a launch spike's edge stopped the whole fleet for the break.
            // Other instances hold back at most MaxBackoff on our word: past that they learn their own limits.
            var maxBackoff = options.Value.MaxBackoff;
            await gate.CloseUntilAsync(time.GetUtcNow() + (hint < maxBackoff ? hint : maxBackoff), "rate_limited", cancellationToken);
        }
        else
        {
            await circuit.RecordFailureAsync(cancellationToken);
        }
        return ModelCallOutcome.Transient(ex, retryPolicy.Backoff(call, ex.RetryAfter), paid);
    }
}
