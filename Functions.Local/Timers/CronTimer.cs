using NCrontab;

namespace Functions.Local.Timers;

/// <summary>
/// A timer trigger with the Azure Functions host's schedule format: six-field NCRONTAB (with seconds) or the classic
/// five-field form, in UTC. Like the host it does not run at start-up, and a failed run waits for the next occurrence.
/// </summary>
public sealed class CronTimer(
    string functionName,
    CrontabSchedule schedule,
    Func<CancellationToken, Task> function,
    TimeProvider time,
    ILogger<CronTimer> logger) : BackgroundService
{
    /// <summary>Task.Delay takes at most about 49 days; a yearly schedule waits in steps.</summary>
    private static readonly TimeSpan LongestWait = TimeSpan.FromDays(1);

    public string FunctionName => functionName;

    public static CrontabSchedule Parse(string expression) =>
        CrontabSchedule.Parse(expression, new CrontabSchedule.ParseOptions
        {
            IncludingSeconds = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6,
        });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var next = schedule.GetNextOccurrence(time.GetUtcNow().UtcDateTime);
                for (var wait = next - time.GetUtcNow().UtcDateTime; wait > TimeSpan.Zero; wait = next - time.GetUtcNow().UtcDateTime)
                {
                    await Task.Delay(wait < LongestWait ? wait : LongestWait, time, stoppingToken);
                }
                try
                {
                    await function(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    CronTimerLog.Failed(logger, ex, functionName);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}

internal static partial class CronTimerLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "{Function} failed; it runs again at its next occurrence")]
    public static partial void Failed(ILogger logger, Exception exception, string function);
}
