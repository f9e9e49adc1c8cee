using System.Globalization;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.RateLimits;

/// <summary>A request that does not fit a limit: which one, its quota, what it asked for and when it would fit.</summary>
public sealed record RateLimitRefusal(string Limit, long Quota, long Requested, TimeSpan RetryAfter)
{
    /// <summary>More than the whole minute's quota: no wait makes it fit.</summary>
    public bool NeverFits => Requested > Quota;
}

/// <summary>
/// What admission decided, with the caller's limits as they stand after it (<see cref="Policies"/>, empty when the
/// caller has none). Every door sets <see cref="Headers"/> on its answer, 2xx or 429.
/// </summary>
public sealed record RateLimitDecision(IReadOnlyList<RatePolicy> Policies, RateLimitRefusal? Refusal)
{
    public static readonly RateLimitDecision Unlimited = new([], null);

    public bool Admitted => Refusal is null;

    public IReadOnlyDictionary<string, string> Headers => RateLimitHeaders.For(Policies, Refusal);

    /// <summary><paramref name="result"/> with the rate-limit headers added.</summary>
    public IResult Apply(IResult result) => Policies.Count == 0 ? result : new WithHeadersResult(result, Headers);

    /// <summary>
    /// The 429 problem+json for a refusal: <c>code: rate_limited</c>, which limit, when it frees, <c>Retry-After</c>. The
    /// rate-limit headers are <see cref="Apply"/>'s, as on every other answer.
    /// </summary>
    public IResult Problem(DateTimeOffset now)
    {
        var refusal = Refusal ?? throw new InvalidOperationException("The request was admitted.");
        var what = refusal.Limit == RateLimitNames.Requests ? "requests" : "tokens";
        var extensions = new Dictionary<string, object?>
        {
            ["code"] = RateLimitProblems.Code,
            ["limit"] = refusal.Limit,
            ["quota"] = refusal.Quota,
            ["window"] = (long)RateBucket.Window.TotalSeconds,
            ["requested"] = refusal.Requested,
        };
        var headers = new Dictionary<string, string>();
        string detail;
        if (refusal.NeverFits)
        {
            detail = $"This request may use up to {refusal.Requested} tokens, more than this caller's limit of {refusal.Quota} tokens per " +
                     "minute, so it can never be admitted: ask for fewer output tokens (maxTokens) or send less. Nothing was queued or charged.";
        }
        else
        {
            var retryAt = now + refusal.RetryAfter;
            extensions["retryAt"] = retryAt;
            headers[HeaderNames.RetryAfter] = Math.Max(1, RateLimitHeaders.Seconds(refusal.RetryAfter)).ToString(CultureInfo.InvariantCulture);
            detail = $"This caller may use {refusal.Quota} {what} per minute; this request fits again at {retryAt:yyyy-MM-ddTHH:mm:ssZ} " +
                     $"(Retry-After). Nothing was queued or charged.";
        }
        return new WithHeadersResult(TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Rate limit exceeded.",
            detail: detail, extensions: extensions), headers);
    }
}

public static class RateLimitProblems
{
    public const string Code = "rate_limited";
}
