using Functions.Core.Jobs;

namespace Functions.Core.Completions;

/// <summary>
/// A model call that failed, already classified: <see cref="IsTransient"/> failures are worth another attempt,
/// the rest end the job. <see cref="RetryAfter"/> is how long the server asked us to wait, if it said.
/// <see cref="Exception.Message"/> is safe to show a caller: it never quotes the upstream body.
/// </summary>
public sealed class ModelCallException(
    string code, string message, bool isTransient, int? status = null, TimeSpan? retryAfter = null, Exception? inner = null,
    string? upstreamCode = null)
    : Exception(message, inner)
{
    /// <summary>The provider's own error code (<c>content_filter</c>, …), when its error body had one.</summary>
    public string? UpstreamCode { get; } = upstreamCode;

    public string Code { get; } = code;
    public bool IsTransient { get; } = isTransient;
    public int? Status { get; } = status;
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public JobError ToJobError() => new(Code, Message);
}
