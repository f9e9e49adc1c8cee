using Functions.Core.Jobs;

namespace Functions.Core.Completions;

/// <summary>
/// What one call to the model came to. <see cref="Result"/>: it answered. Otherwise <see cref="Error"/> says why not,
/// and <see cref="RetryIn"/> is set when another call is worth making after that wait (a transient failure).
/// <see cref="Paid"/> is what a call that broke off mid-stream had already generated, and so cost, with its usage
/// estimated: it must be recorded even though the call failed. <see cref="FallBack"/>: call this request (the route's
/// next candidate) now instead.
/// </summary>
public sealed record ModelCallOutcome(JobResult? Result, ModelCallException? Error, TimeSpan? RetryIn, JobResult? Paid,
    Requests.ChatRequest? FallBack = null)
{
    public static ModelCallOutcome FellBack(ModelCallException error, JobResult? paid, Requests.ChatRequest next) =>
        new(null, error, TimeSpan.Zero, paid, next);

    public static ModelCallOutcome Answered(JobResult result) => new(result, null, null, result);

    public static ModelCallOutcome Failed(ModelCallException error, JobResult? paid) => new(null, error, null, paid);

    public static ModelCallOutcome Transient(ModelCallException error, TimeSpan retryIn, JobResult? paid) => new(null, error, retryIn, paid);

    /// <summary>The caller went away (or the host is stopping) mid-call: not retried, but what was generated is paid for.</summary>
    public static ModelCallOutcome Cancelled(JobResult? paid) =>
        new(null, new ModelCallException("cancelled", "The request was cancelled before the answer was complete.", isTransient: false), null, paid);

    public bool Succeeded => Result is not null;
}
