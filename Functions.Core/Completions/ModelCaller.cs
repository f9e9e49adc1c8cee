using Functions.Core.Requests;
using Functions.Core.Resilience;
using Functions.Core.Tokens;
using Microsoft.Extensions.Options;

namespace Functions.Core.Completions;

/// <summary>The shared gate is closed: hold back for <see cref="Delay"/> (its remaining closure plus a random spread).</summary>
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
    IOptions<ResilienceOptions> options,
    TimeProvider time)
{
    /// <param name="maxStaleness">How old a look at the shared gate may be (see <see cref="UpstreamGate.ClosedUntilAsync"/>).</param>
    /// <returns>How long to hold back before calling, or null when the gate is open.</returns>
    public async Task<GateWait?> WaitBeforeCallAsync(CancellationToken cancellationToken, TimeSpan maxStaleness = default) =>
        await gate.ClosedUntilAsync(cancellationToken, maxStaleness) is { } closed
            ? new GateWait(closed.Until - time.GetUtcNow() + retryPolicy.Spread(), closed.Reason, closed.Until)
            : null;

    /// <param name="call">This call's number among the request's calls (1 for the first): it sets the back-off.</param>
    public async Task<ModelCallOutcome> CallAsync(ChatRequest request, int call, CancellationToken cancellationToken)
    {
        try
        {
            var result = await model.CompleteAsync(request, cancellationToken);
            circuit.RecordSuccess();
            return ModelCallOutcome.Answered(result);
        }
        catch (ModelCallException ex)
        {
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
            return await FailedAsync(ex, call, answer.Paid(tokens), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ModelCallOutcome.Cancelled(answer.Paid(tokens));
        }
        circuit.RecordSuccess();
        return ModelCallOutcome.Answered(answer.ToResult(tokens));
    }

    private async Task<ModelCallOutcome> FailedAsync(ModelCallException ex, int call, Jobs.JobResult? paid,
        CancellationToken cancellationToken)
    {
        if (!ex.IsTransient)
        {
            return ModelCallOutcome.Failed(ex, paid);
        }
        await circuit.RecordFailureAsync(cancellationToken);
        if (ex.Status == 429 && ex.RetryAfter is { } hint)
        {
            // Other instances hold back at most MaxBackoff on our word: past that they learn their own limits.
            var maxBackoff = options.Value.MaxBackoff;
            await gate.CloseUntilAsync(time.GetUtcNow() + (hint < maxBackoff ? hint : maxBackoff), "rate_limited", cancellationToken);
        }
        return ModelCallOutcome.Transient(ex, retryPolicy.Backoff(call, ex.RetryAfter), paid);
    }
}
