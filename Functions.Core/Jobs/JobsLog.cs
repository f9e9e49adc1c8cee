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

    [LoggerMessage(EventId = 253, Level = LogLevel.Warning,
        Message = "Job {JobId}: another worker took the job over (its lease had lapsed); this worker stops, recording only what its cancelled call had generated")]
    public static partial void LeaseLost(ILogger logger, string jobId);

    [LoggerMessage(EventId = 254, Level = LogLevel.Warning, Message = "Job {JobId}: the lease could not be renewed ({Reason}); retrying at the next beat")]
    public static partial void LeaseRenewalFailed(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 255, Level = LogLevel.Warning,
        Message = "Job {JobId} re-queued by the sweeper: {Reason} (status {Status}, {ModelCalls} model calls so far)")]
    public static partial void Swept(ILogger logger, string jobId, string reason, JobStatus status, int modelCalls);

    [LoggerMessage(EventId = 256, Level = LogLevel.Information, Message = "Job sweep: {Unfinished} unfinished jobs looked at, {Requeued} re-queued")]
    public static partial void SweepDone(ILogger logger, int unfinished, int requeued);
}
