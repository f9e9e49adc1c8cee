using Microsoft.Extensions.Logging;

namespace Functions.Core.Requests;

internal static partial class RequestsLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information,
        Message = "Job {JobId} accepted for caller {CallerHash}: model {Model}, {MessageCount} messages")]
    public static partial void Accepted(ILogger logger, string jobId, string callerHash, string model, int messageCount);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information,
        Message = "Job {JobId} replayed for caller {CallerHash} by its Idempotency-Key; it is {Status}")]
    public static partial void Replayed(ILogger logger, string jobId, string callerHash, Jobs.JobStatus status);

    [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "Storage failed while accepting a request")]
    public static partial void StorageFailed(ILogger logger, Exception exception);
}
