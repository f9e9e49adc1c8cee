using Microsoft.Extensions.Logging;

namespace Functions.Core.Jobs;

internal static partial class JobsLog
{
    [LoggerMessage(EventId = 250, Level = LogLevel.Information, Message = "Job {JobId} was updated by another worker; this delivery stops")]
    public static partial void TakenElsewhere(ILogger logger, string jobId);

    [LoggerMessage(EventId = 251, Level = LogLevel.Information,
        Message = "Job {JobId} back on the queue after {ModelCalls} model calls, visible again in {DelayMs} ms")]
    public static partial void Requeued(ILogger logger, string jobId, int modelCalls, long delayMs);

    [LoggerMessage(EventId = 252, Level = LogLevel.Warning,
        Message = "Job {JobId} could not be released after a failure (HTTP {Status}); it runs again when its lease ends")]
    public static partial void ReleaseFailed(ILogger logger, string jobId, int status);
}
