using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Jobs.Streams;

/// <summary>Job streams (<c>GET /api/chat/{id}/stream</c>). Bound from the <c>JobStreams</c> configuration section.</summary>
public sealed class JobStreamOptions
{
    public const string SectionName = "JobStreams";

    /// <summary>
    /// The longest the worker holds a delta before writing it (the first delta of an attempt is written at once). Each
    /// flush is one storage write, so this sets the write rate of a fast stream: about one write per interval.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:05")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Held deltas worth this many tokens are written without waiting for <see cref="FlushInterval"/>.</summary>
    [Range(1, 4096)]
    public int FlushTokens { get; set; } = 64;

    /// <summary>How often a stream looks for new deltas (and, when there are none, at the job) while the job is unfinished.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A <c>:</c> comment goes out after this much silence, so idle connections stay open while a job waits.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Streams one caller may hold open at once on one instance; one more is 429 with Retry-After.</summary>
    [Range(1, 10_000)]
    public int MaxOpenPerCaller { get; set; } = 10;

    /// <summary>
    /// How long a <c>streamUrl</c>'s token opens (and re-opens) its stream. It is checked when a connection opens, so
    /// a stream open at expiry runs to its end; twice the default job deadline by default.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long a job's stream rows are kept after they were written; the sweep timer (<c>SweepCache</c>) removes older
    /// ones. Past it a finished job still streams, from its stored result.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(1);

    [Required, RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "JobStreams:Table must be a valid table name.")]
    public string Table { get; set; } = "jobstreams";
}
