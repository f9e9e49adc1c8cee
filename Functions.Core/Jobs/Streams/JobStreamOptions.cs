using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Jobs.Streams;

/// <summary>Job streams (<c>GET /api/chat/{id}/stream</c>). Bound from the <c>JobStreams</c> configuration section.</summary>
public sealed class JobStreamOptions
{
    public const string SectionName = "JobStreams";

    /// <summary>
    /// The longest the worker holds a delta before writing it (the first delta of a call is written at once, whatever
    /// this says: it is what a watcher waits for). It bounds the wait behind a slow model; a fast one fills
    /// <see cref="FlushTokens"/> first. Each flush is one storage write.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:05")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Held deltas worth this many tokens are written without waiting for <see cref="FlushInterval"/>. The write count
    /// follows the text, not the clock: about 1,000 / this many writes per 1,000 tokens (25 at the default, a line or two
    /// of text a write, 2-3 a second from a model at 100 tokens/s), plus the first delta of each call.
    /// </summary>
    [Range(1, 4096)]
    public int FlushTokens { get; set; } = 40;

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
