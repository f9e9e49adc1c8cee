using Microsoft.Extensions.Logging;

namespace Functions.Core.RateLimits;

/// <summary>Log messages of per-caller limits and upstream pacing: EventIds 800–899.</summary>
internal static partial class RateLimitsLog
{
    [LoggerMessage(EventId = 800, Level = LogLevel.Information,
        Message = "Caller {Caller} refused by its {Limit} limit; it fits again in {RetryAfterMs} ms")]
    public static partial void CallerRefused(ILogger logger, string caller, string limit, long retryAfterMs);

    [LoggerMessage(EventId = 801, Level = LogLevel.Debug, Message = "Caller {Caller}'s counter moved under us (round {Round}); reading it again")]
    public static partial void CallerContention(ILogger logger, string caller, int round);

    [LoggerMessage(EventId = 802, Level = LogLevel.Warning,
        Message = "The rate-limit correction for job {JobId} was lost to a storage fault ({Reason}); the caller's limit stays stricter until it refills")]
    public static partial void CorrectionLost(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 803, Level = LogLevel.Warning, Message = "The caller's rate-limit row could not be read for the headers; answering without them")]
    public static partial void PeekFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 810, Level = LogLevel.Debug,
        Message = "Leased {Requests} calls and {Tokens} tokens of {Model}'s upstream quota")]
    public static partial void Leased(ILogger logger, string model, long requests, long tokens);

    [LoggerMessage(EventId = 811, Level = LogLevel.Debug,
        Message = "No upstream slot for {Model} for {WaitMs} ms (its {Limit} limit)")]
    public static partial void NoSlot(ILogger logger, string model, long waitMs, string limit);

    [LoggerMessage(EventId = 812, Level = LogLevel.Information,
        Message = "The provider says less of {Model}'s quota is left than we counted ({RemainingRequests} requests, {RemainingTokens} tokens); pacing tightens")]
    public static partial void ProviderTightened(ILogger logger, string model, long remainingRequests, long remainingTokens);
}
