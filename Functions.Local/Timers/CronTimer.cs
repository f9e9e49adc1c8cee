using NCrontab;

namespace Functions.Local.Timers;

/// <summary>
/// A timer trigger with the Azure Functions host's semantics: an NCRONTAB schedule (six fields with seconds, or five) in UTC,
/// one run at a time (an occurrence that passes while a run is still going is skipped), and a failed run logged,
/// not retried: the next occurrence runs as usual. Time comes from <see cref="TimeProvider"/>, so tests drive it.
/// </summary>
public sealed class CronTimer(
    string functionName,
    string scheduleSetting,
    string expression,
    CrontabSchedule schedule,
    Func<CancellationToken, Task> function,
    TimeProvider time,
    ILogger<CronTimer> logger) : BackgroundService
{
    public string FunctionName => functionName;

    /// <summary>The app setting the schedule is read from, as <c>[TimerTrigger("%Setting%")]</c> names it.</summary>
    public string ScheduleSetting => scheduleSetting;

    /// <summary>Waits longer than this are taken in steps (a yearly schedule exceeds what one timer can wait).</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    /// <summary>The host's formats: six fields (seconds first), or the classic five; null when it is neither.</summary>
    public static CrontabSchedule? TryParse(string expression) =>
        CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions
        {
            IncludingSeconds = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6,
        });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var next = NextAfter(time.GetUtcNow());
        CronTimerLog.Scheduled(logger, functionName, expression, next);
        try
        {
            while (true)
            {
                for (var wait = next - time.GetUtcNow(); wait > TimeSpan.Zero; wait = next - time.GetUtcNow())
                {
                    await Task.Delay(wait < MaxWait ? wait : MaxWait, time, stoppingToken);
                }

                try
                {
                    await function(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    CronTimerLog.Failed(logger, ex, functionName);
                }
                next = NextAfter(time.GetUtcNow());
                CronTimerLog.Ran(logger, functionName, next);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private DateTimeOffset NextAfter(DateTimeOffset now) =>
        new(DateTime.SpecifyKind(schedule.GetNextOccurrence(now.UtcDateTime), DateTimeKind.Utc));
}

internal static partial class CronTimerLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information,
        Message = "Timer {Function} scheduled by '{Schedule}' (UTC); next occurrence {Next:O}")]
    public static partial void Scheduled(ILogger logger, string function, string schedule, DateTimeOffset next);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Timer {Function} ran; next occurrence {Next:O}")]
    public static partial void Ran(ILogger logger, string function, DateTimeOffset next);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Timer {Function} failed; it runs again at its next occurrence")]
    public static partial void Failed(ILogger logger, Exception exception, string function);
}
