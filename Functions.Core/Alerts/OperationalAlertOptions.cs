using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Alerts;

/// <summary>
/// When operational alerts fire: upstream 429 and 5xx rates over a window, the circuit opening, poison messages, and
/// spend in the last hour against its trailing average. Bound from <c>OperationalAlerts</c>; they go to the same
/// channels as budget alerts (<see cref="AlertOptions"/>), once when an episode starts and once when it ends.
/// </summary>
public sealed class OperationalAlertOptions : IValidatableObject
{
    public const string SectionName = "OperationalAlerts";

    /// <summary>The app setting holding the NCRONTAB schedule of the check (both hosts), and its default: every minute.</summary>
    public const string ScheduleSetting = "OPS_ALERTS_SCHEDULE";
    public const string DefaultSchedule = "0 * * * * *";

    /// <summary>The window the upstream rates, circuit openings and poison messages are judged over.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "01:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Fewer model calls than this in the window judge no rate (one failure of two calls is not a storm).</summary>
    [Range(1, 1_000_000)]
    public int MinimumCalls { get; set; } = 20;

    /// <summary>Percentage of the window's model calls answered 429 that starts an episode; 0 turns the alert off.</summary>
    [Range(0, 100)]
    public double RateLimitedPercent { get; set; } = 20;

    /// <summary>Percentage answered 5xx/408 or not at all (timeouts, broken connections) that starts an episode; 0: off.</summary>
    [Range(0, 100)]
    public double ServerErrorPercent { get; set; } = 10;

    /// <summary>Alert while the circuit breaker has opened within the window.</summary>
    public bool CircuitOpen { get; set; } = true;

    /// <summary>Poison messages within the window that start an episode; 0: off.</summary>
    [Range(0, 1_000_000)]
    public int PoisonMessages { get; set; } = 1;

    /// <summary>Spend in the last 60 minutes at this multiple of the trailing hourly average is unusual; 0: off.</summary>
    [Range(0, 1000)]
    public double SpendMultiplier { get; set; } = 3;

    /// <summary>How many whole hours before the last one the trailing average covers.</summary>
    [Range(1, 168)]
    public int SpendTrailingHours { get; set; } = 24;

    /// <summary>Spend in the last hour below this is never unusual, however small the average (a quiet app waking up).</summary>
    [Range(typeof(decimal), "0", "1000000")]
    public decimal SpendMinimumUsd { get; set; } = 1m;

    /// <summary>How often each instance writes its counts for the check to read (the check's lag is at most this).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SpendMultiplier is > 0 and < 1.1)
        {
            yield return new ValidationResult(
                "OperationalAlerts:SpendMultiplier must be 0 (off) or at least 1.1: an hour at its own average is not unusual.",
                [nameof(SpendMultiplier)]);
        }
        if (FlushInterval >= Window)
        {
            yield return new ValidationResult("OperationalAlerts:FlushInterval must be shorter than OperationalAlerts:Window.",
                [nameof(FlushInterval), nameof(Window)]);
        }
    }
}
