using Microsoft.Extensions.Logging;

namespace Functions.Core.Telemetry;

internal static partial class TelemetryLog
{
    [LoggerMessage(EventId = 900, Level = LogLevel.Warning,
        Message = "Health counters could not be written to storage; they go out with the next flush")]
    public static partial void HealthFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 901, Level = LogLevel.Information, Message = "Telemetry: {Destination}")]
    public static partial void Exporting(ILogger logger, string destination);

    [LoggerMessage(EventId = 902, Level = LogLevel.Warning, Message = "Telemetry exporter {Exporter} failed; its batch of {Count} spans is dropped")]
    public static partial void ExportFailed(ILogger logger, string exporter, int count, Exception exception);
}
