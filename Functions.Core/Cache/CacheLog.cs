using Azure;
using Functions.Core.Jobs;
using Microsoft.Extensions.Logging;
using Functions.Core.Storage;

namespace Functions.Core.Cache;

internal static partial class CacheLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Cache hit for caller {CallerHash}: answered with job {JobId}")]
    public static partial void Hit(ILogger logger, string callerHash, string jobId);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "The response cache is unavailable; job {JobId} is processed without it")]
    public static partial void Unavailable(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 602, Level = LogLevel.Information, Message = "Job {JobId}: answer stored for {TtlSeconds} s")]
    public static partial void Stored(ILogger logger, string jobId, long ttlSeconds);

    [LoggerMessage(EventId = 603, Level = LogLevel.Information, Message = "Job {JobId}: answer not stored ({Reason})")]
    public static partial void NotStored(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 604, Level = LogLevel.Information, Message = "Job {JobId} answered by an identical request's model call")]
    public static partial void Collapsed(ILogger logger, string jobId);

    [LoggerMessage(EventId = 605, Level = LogLevel.Debug, Message = "Job {JobId} waits {DelaySeconds} s for an identical request's model call")]
    public static partial void Waiting(ILogger logger, string jobId, double delaySeconds);

    [LoggerMessage(EventId = 606, Level = LogLevel.Warning, Message = "A cache hit for caller {CallerHash} could not be recorded as a saving")]
    public static partial void SavingNotRecorded(ILogger logger, string callerHash, Exception exception);

    [LoggerMessage(EventId = 607, Level = LogLevel.Information, Message = "Cache sweep removed {Count} expired rows")]
    public static partial void Swept(ILogger logger, int count);

    [LoggerMessage(EventId = 608, Level = LogLevel.Warning, Message = "The response cache is unavailable; the request is treated as a miss")]
    public static partial void LookupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 609, Level = LogLevel.Warning, Message = "Job {JobId} could not release its leader lease; it expires on its own")]
    public static partial void LeaseNotReleased(ILogger logger, string jobId, Exception exception);

    public static async Task TryRecordHitAsync(this ICacheSavingsRecorder savings, string caller, JobResult result, ILogger logger)
    {
        try
        {
            await savings.RecordHitAsync(caller, result.Model, result.Usage, CancellationToken.None);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            SavingNotRecorded(logger, Telemetry.CallerHash.Of(caller), ex);
        }
    }
}
