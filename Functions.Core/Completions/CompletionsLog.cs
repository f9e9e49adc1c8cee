using Functions.Core.Jobs;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Completions;

internal static partial class CompletionsLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information,
        Message = "Job {JobId} succeeded on {Model}: {InputTokens} input and {OutputTokens} output tokens in {ElapsedMs} ms")]
    public static partial void Succeeded(ILogger logger, string jobId, string model, int inputTokens, int outputTokens, long elapsedMs);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Job {JobId} failed: {Code} (HTTP {Status})")]
    public static partial void Failed(ILogger logger, string jobId, string code, int? status);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning,
        Message = "Job {JobId} attempt {Attempt} hit a transient failure {Code} (HTTP {Status}); the queue will redeliver it")]
    public static partial void WillRetry(ILogger logger, string jobId, int attempt, string code, int? status);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Job {JobId} is already {Status}; redelivery ignored")]
    public static partial void AlreadyFinished(ILogger logger, string jobId, JobStatus status);

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "Queue message of {Length} characters names no job; dropped")]
    public static partial void UnreadableMessage(ILogger logger, int length);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "Job {JobId} has no row; message dropped")]
    public static partial void JobMissing(ILogger logger, string jobId);

    [LoggerMessage(EventId = 306, Level = LogLevel.Error, Message = "Job {JobId} failed for good after {Attempts} attempts: {Code}")]
    public static partial void Poisoned(ILogger logger, string jobId, int attempts, string code);

    [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "Job {JobId}: could not record the retry state")]
    public static partial void RetryNotRecorded(ILogger logger, string jobId, Exception exception);
}
