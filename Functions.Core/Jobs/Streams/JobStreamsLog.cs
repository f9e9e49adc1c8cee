using Microsoft.Extensions.Logging;

namespace Functions.Core.Jobs.Streams;

internal static partial class JobStreamsLog
{
    [LoggerMessage(EventId = 260, Level = LogLevel.Information,
        Message = "Job {JobId}: model call {Attempt} restarts the stream after delta {After}")]
    public static partial void Restarted(ILogger logger, string jobId, int attempt, long after);

    [LoggerMessage(EventId = 261, Level = LogLevel.Warning,
        Message = "Job {JobId}: stream deltas up to {LastId} could not be written yet; they are written with the next batch")]
    public static partial void WriteFailed(ILogger logger, string jobId, long lastId, Exception exception);

    [LoggerMessage(EventId = 262, Level = LogLevel.Warning,
        Message = "Job {JobId}: {Count} stream deltas were never written; readers complete the stream from the job's result")]
    public static partial void Unwritten(ILogger logger, string jobId, int count);

    [LoggerMessage(EventId = 263, Level = LogLevel.Warning, Message = "Job {JobId}: the stream could not be read; it ends, and the client resumes")]
    public static partial void ReadFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 264, Level = LogLevel.Information, Message = "Caller {Caller} holds {Limit} open job streams; one more was refused")]
    public static partial void TooManyOpen(ILogger logger, string caller, int limit);

    [LoggerMessage(EventId = 265, Level = LogLevel.Information, Message = "Job-stream sweep removed {Count} rows older than {Retention}")]
    public static partial void Swept(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(EventId = 266, Level = LogLevel.Information, Message = "Stream URLs are signed with the secret {SecretName}")]
    public static partial void SigningKeyConfigured(ILogger logger, string secretName);

    [LoggerMessage(EventId = 267, Level = LogLevel.Warning,
        Message = "Stream URLs are signed with a random key made at start-up, because the secret {SecretName} is not set: a streamUrl " +
                  "works only on this instance and until it restarts. Set JobStreams__SigningKey (32+ characters), or map " +
                  "KeyVault__Secrets__JobStreamSigningKey to a vault secret, wherever more than one instance runs.")]
    public static partial void SigningKeyRandom(ILogger logger, string secretName);
}
