using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Cache;

public enum CacheScope
{
    /// <summary>Each caller has its own entries: nobody is ever served an answer another caller's request produced.</summary>
    Caller,

    /// <summary>Identical requests share one entry across callers; opt in only where prompts hold nothing private.</summary>
    Shared,
}

/// <summary>The response cache. Bound from the <c>Cache</c> configuration section.</summary>
public sealed class CacheOptions
{
    public const string SectionName = "Cache";

    public CacheScope Scope { get; set; } = CacheScope.Caller;

    /// <summary>How long an answer is served; a request's <c>Cache-Control: max-age</c> may shorten it, never lengthen it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long identical requests wait for the one model call already under way before making their own: the longest a
    /// leader that died is waited for. Longer than a typical model call; a slower call only costs a duplicate call.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan LeaderLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a waiting job stays off the queue before it looks for the leader's answer again (whole seconds).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan FollowerRecheck { get; set; } = TimeSpan.FromSeconds(1);

    [Required, RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Cache:Table must be a valid table name.")]
    public string Table { get; set; } = "chatcache";

    /// <summary>
    /// How long an answer read or stored here is also served from this instance's memory, with no storage round trip
    /// (never past the entry's own expiry). Zero turns the memory level off. Short, because another instance may store a
    /// newer answer for the same key (a <c>no-cache</c> request) and this instance sees it only after this long.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan LocalTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How much memory the first level may hold (zero turns it off).</summary>
    [Range(0, 4096)]
    public int LocalMaxMegabytes { get; set; } = 64;

    /// <summary>Cache hits' savings are written to the ledger in batches off the response path, at most this far apart.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan SavingsFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an expired answer is kept (not served) for a route with stale-if-error (<c>Routing:Routes:{n}:StaleIfError</c>)
    /// to fall back on when every candidate model fails, as HTTP's <c>stale-if-error</c>. Zero removes answers as they expire.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan StaleIfErrorFor { get; set; } = TimeSpan.FromDays(1);

    /// <summary>NCRONTAB (with seconds) for removing expired entries nobody asked for again; both hosts read this setting.</summary>
    [Required, RegularExpression(@"^\S+( \S+){5}$", ErrorMessage = "Cache:SweepSchedule must be a six-field NCRONTAB expression.")]
    public string SweepSchedule { get; set; } = "0 17 * * * *";
}
