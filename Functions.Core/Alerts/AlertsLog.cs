using Microsoft.Extensions.Logging;

namespace Functions.Core.Alerts;

/// <summary>Alert log lines name channels, never their URLs (each URL is a credential).</summary>
internal static partial class AlertsLog
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Alert {AlertId} sent to {ChannelCount} channels")]
    public static partial void Sent(ILogger logger, string alertId, int channelCount);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning,
        Message = "Alert {AlertId}: the {Channel} channel answered HTTP {Status}; it will be retried on the next run")]
    public static partial void ChannelRejected(ILogger logger, string channel, string alertId, int status);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning,
        Message = "Alert {AlertId}: the {Channel} channel could not be reached ({Error}); it will be retried on the next run")]
    public static partial void ChannelUnreachable(ILogger logger, string channel, string alertId, string error);

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning,
        Message = "Alert {AlertId}: its claim expired and another run took it over before the outcome was recorded")]
    public static partial void ClaimLost(ILogger logger, string alertId);
}
