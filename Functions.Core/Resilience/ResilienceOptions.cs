using System.ComponentModel.DataAnnotations;

using Functions.Core.Jobs;

namespace Functions.Core.Resilience;

/// <summary>How hard a job tries before it fails. Bound from the <c>Resilience</c> configuration section.</summary>
public sealed class ResilienceOptions
{
    public const string SectionName = "Resilience";

    /// <summary>Model calls a job may make after its first, in total across deliveries: at most 1 + MaxRetries calls.</summary>
    [Range(0, 20)]
    public int MaxRetries { get; set; } = 4;

    /// <summary>The first back-off; each retry doubles it (full jitter), up to <see cref="MaxBackoff"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Waits longer than this are not slept inside the function: the job goes back to the queue, delayed.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan LongWaitThreshold { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A job not finished this long after it was accepted fails with <c>deadline_exceeded</c>. At most 45 minutes, so a
    /// job's last model call (plus its network timeout) lands in the ledger before the spend roll-up closes its day
    /// (one hour after the day ends).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:45:00")]
    public TimeSpan JobDeadline { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Consecutive transient failures (on one instance) that open the circuit.</summary>
    [Range(1, 1000)]
    public int CircuitFailureThreshold { get; set; } = 5;

    /// <summary>How long an open circuit holds every instance's calls back before one is let through to probe.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a worker owns a Running job past its last sign of life; a duplicate delivery within it is ignored, after
    /// it the job is taken over. Short, because <see cref="LeaseHeartbeat"/> renews it while the model call runs: a
    /// worker that dies is noticed this long after its last renewal, not after the longest call could take.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ProcessingLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a running model call's lease is renewed (to a full <see cref="ProcessingLease"/> from then).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan LeaseHeartbeat { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A Queued job whose row nobody has touched this long (and that is not waiting for a <c>retryAt</c>) has probably
    /// lost its queue message to a dead instance, which keeps a dequeued message invisible for minutes: the sweeper
    /// sends it a new one. A duplicate message is harmless (the job's lease lets one worker run it).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StaleQueuedAfter { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>NCRONTAB schedule (six fields, UTC) of the job sweeper, the timer <c>SweepJobs</c> in both hosts.</summary>
    [Required, RegularExpression(@"^\S+( \S+){5}$", ErrorMessage = "Resilience:JobSweepSchedule must be a six-field NCRONTAB expression.")]
    public string JobSweepSchedule { get; set; } = "*/15 * * * * *";
}
