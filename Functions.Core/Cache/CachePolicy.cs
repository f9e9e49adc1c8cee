using Functions.Core.Requests;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Cache;

/// <summary>
/// Which requests the cache handles, from the request and its <c>Cache-Control</c> header:
/// <list type="bullet">
/// <item><c>no-store</c>: the cache neither answers nor stores.</item>
/// <item>Otherwise only deterministic requests (temperature 0) or those opting in with <c>max-age=N</c>.</item>
/// <item>The TTL is the configured default, shortened by <c>max-age</c>; a stored answer older than it is not served.
/// <c>max-age=0</c> accepts no stored answer and stores none.</item>
/// <item><c>no-cache</c>: a fresh model call, whose answer is stored for the next request.</item>
/// </list>
/// </summary>
public static class CachePolicy
{
    /// <returns>The ticket a cacheable request carries, or null when the cache stays out of it.</returns>
    public static CacheTicket? Decide(string? cacheControl, ChatRequest request, string caller, CacheOptions options)
    {
        var directives = CacheControlHeaderValue.TryParse(cacheControl, out var parsed) ? parsed : null;
        if (directives?.NoStore == true)
        {
            return null;
        }

        var maxAge = directives?.MaxAge;
        if (maxAge is null && request.Temperature != 0)
        {
            return null;
        }

        var ttl = maxAge is { } requested && requested < options.DefaultTtl ? requested : options.DefaultTtl;
        return ttl <= TimeSpan.Zero
            ? null
            : new CacheTicket(CacheKey.Compute(request, CacheKey.Scope(options.Scope, caller)), ttl, UseStored: directives?.NoCache != true);
    }
}
