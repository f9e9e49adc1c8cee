using Azure.Data.Tables;

namespace Functions.Core.Cache;

public enum CacheOutcome
{
    /// <summary>Not answered yet; the worker stores a complete answer.</summary>
    Pending,

    /// <summary>The model's answer was stored for identical requests.</summary>
    Stored,

    /// <summary>Answered by the model, but the answer was not one to keep (incomplete, too large, storage failed).</summary>
    NotStored,

    /// <summary>Answered by an identical request's model call that was under way or had just finished.</summary>
    Collapsed,

    /// <summary>Answered from the cache when it was submitted (a job row made for another caller's stored answer).</summary>
    Hit,

    /// <summary>Every candidate model failed, and an expired stored answer was served instead (stale-if-error).</summary>
    Stale,
}

/// <summary>
/// What a cacheable job carries from submit to worker: its key, how old an answer it accepts (the TTL it stores with),
/// whether a stored answer may serve it at all (<c>no-cache</c> says no), and what happened.
/// </summary>
public sealed record CacheTicket(string Key, TimeSpan Ttl, bool UseStored, CacheOutcome Outcome = CacheOutcome.Pending)
{
    internal static void Write(TableEntity entity, CacheTicket? ticket)
    {
        if (ticket is not null)
        {
            entity["CacheKey"] = ticket.Key;
            entity["CacheTtlSeconds"] = (long)ticket.Ttl.TotalSeconds;
            entity["CacheUseStored"] = ticket.UseStored;
            entity["CacheOutcome"] = ticket.Outcome.ToString();
        }
    }

    internal static CacheTicket? Read(TableEntity entity) =>
        entity.GetString("CacheKey") is { } key
            ? new CacheTicket(key, TimeSpan.FromSeconds(entity.GetInt64("CacheTtlSeconds") ?? 0), entity.GetBoolean("CacheUseStored") ?? true,
                Enum.TryParse<CacheOutcome>(entity.GetString("CacheOutcome"), out var outcome) ? outcome : CacheOutcome.Pending)
            : null;
}

/// <summary>The RFC 9211 <c>Cache-Status</c> header: how the cache handled a request.</summary>
public static class CacheStatus
{
    public const string HeaderName = "Cache-Status";
    private const string CacheName = "ChatBackend";

    /// <summary>Not cacheable (<c>no-store</c>, or neither deterministic nor opted in with <c>max-age</c>).</summary>
    public const string Bypass = CacheName + "; fwd=bypass";

    public static string Hit(TimeSpan ttl) => $"{CacheName}; hit; ttl={(long)Math.Max(0, ttl.TotalSeconds)}";

    public static string Of(CacheTicket ticket) => ticket.Outcome switch
    {
        CacheOutcome.Hit => CacheName + "; hit",
        CacheOutcome.Collapsed => CacheName + "; fwd=miss; collapsed",
        CacheOutcome.Stale => CacheName + "; fwd=stale",
        CacheOutcome.Stored => Forwarded(ticket) + "; stored",
        _ => Forwarded(ticket),
    };

    /// <summary><c>request</c> when the request's own <c>no-cache</c> sent it to the model, <c>miss</c> otherwise.</summary>
    private static string Forwarded(CacheTicket ticket) => CacheName + (ticket.UseStored ? "; fwd=miss" : "; fwd=request");
}
