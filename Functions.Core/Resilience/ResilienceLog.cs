using Microsoft.Extensions.Logging;

namespace Functions.Core.Resilience;

internal static partial class ResilienceLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Error,
        Message = "Circuit open after {Failures} consecutive upstream failures: every instance holds model calls for {BreakMs} ms")]
    public static partial void CircuitOpened(ILogger logger, int failures, long breakMs);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Circuit closed: the upstream answered again after {Failures} failures")]
    public static partial void CircuitClosed(ILogger logger, int failures);
}
