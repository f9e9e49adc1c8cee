using Functions.Core.Jobs;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Completions;

internal static partial class CompletionsLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information,
        Message = "Job {JobId} succeeded on {Model}: {InputTokens} input and {OutputTokens} output tokens, {ModelCalls} model calls, {ElapsedMs} ms")]
    public static partial void Succeeded(ILogger logger, string jobId, string model, int inputTokens, int outputTokens, int modelCalls, long elapsedMs);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Job {JobId} failed: {Code} after {ModelCalls} model calls")]
    public static partial void Failed(ILogger logger, string jobId, string code, int modelCalls);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning,
        Message = "Job {JobId} model call {ModelCall} failed transiently: {Code} (HTTP {Status}); next try in {DelayMs} ms")]
    public static partial void WillRetry(ILogger logger, string jobId, int modelCall, string code, int? status, long delayMs);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Job {JobId} is already {Status}; redelivery ignored")]
    public static partial void AlreadyFinished(ILogger logger, string jobId, JobStatus status);

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "Queue message of {Length} characters names no job; dropped")]
    public static partial void UnreadableMessage(ILogger logger, int length);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "Job {JobId} has no row; message dropped")]
    public static partial void JobMissing(ILogger logger, string jobId);

    [LoggerMessage(EventId = 306, Level = LogLevel.Error, Message = "Job {JobId} failed for good after {ModelCalls} model calls: {Code}")]
    public static partial void Poisoned(ILogger logger, string jobId, int modelCalls, string code);

    [LoggerMessage(EventId = 307, Level = LogLevel.Information, Message = "Job {JobId} is running on another worker until {LeaseUntil}; duplicate ignored")]
    public static partial void HeldElsewhere(ILogger logger, string jobId, DateTimeOffset leaseUntil);


    [LoggerMessage(EventId = 309, Level = LogLevel.Information, Message = "Job {JobId} waits: upstream gate closed ({Reason}) until {Until}")]
    public static partial void GateClosed(ILogger logger, string jobId, string reason, DateTimeOffset until);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning,
        Message = "Job {JobId}: recording its paid model call failed on attempt {Attempt}; trying again")]
    public static partial void RecordingRetried(ILogger logger, string jobId, int attempt);

    [LoggerMessage(EventId = 308, Level = LogLevel.Information, Message = "Job {JobId} was finished by another worker; this delivery's outcome is dropped")]
    public static partial void OutcomeTakenElsewhere(ILogger logger, string jobId);

    [LoggerMessage(EventId = 315, Level = LogLevel.Warning, Message = "Job {JobId} falls back from {From} to {To} ({Reason})")]
    public static partial void FellBack(ILogger logger, string jobId, string from, string to, string reason);

    [LoggerMessage(EventId = 316, Level = LogLevel.Warning, Message = "Job {JobId} answered stale: every candidate failed ({Code})")]
    public static partial void ServedStale(ILogger logger, string jobId, string code);
}
