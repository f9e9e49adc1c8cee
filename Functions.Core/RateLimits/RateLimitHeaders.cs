using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Functions.Core.RateLimits;

/// <summary>
/// The rate-limit response headers, in both dialects clients read:
/// <list type="bullet">
/// <item>draft-ietf-httpapi-ratelimit-headers: <c>RateLimit-Policy: "rpm";q=60;w=60, "tpm";q=100000;w=60;qu="tokens"</c> and
/// <c>RateLimit: "rpm";r=12;t=31, "tpm";r=99000;t=4</c> (structured-field lists; <c>t</c> is whole seconds until the policy is
/// all free again, or on a refusal until the refused policy admits again, the same instant as <c>Retry-After</c>). Tokens
/// are not a registered quota unit; <c>qu="tokens"</c> says what the policy counts, and a client that does not know it may
/// ignore that policy.</item>
/// <item>OpenAI's <c>x-ratelimit-limit-requests</c>, <c>-remaining-requests</c>, <c>-reset-requests</c> and the <c>-tokens</c>
/// three, resets as Go durations (<c>6m0s</c>, <c>250ms</c>) as the OpenAI SDKs parse them.</item>
/// </list>
/// Headers cannot trail a body, so a streaming door writes these before its first byte.
/// </summary>
public static class RateLimitHeaders
{
    public const string Policy = "RateLimit-Policy";
    public const string State = "RateLimit";

    public static IReadOnlyDictionary<string, string> For(IReadOnlyList<RatePolicy> policies, RateLimitRefusal? refusal = null)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (policies.Count == 0)
        {
            return headers;
        }
        headers[Policy] = string.Join(", ", policies.Select(policy =>
            $"\"{policy.Name}\";q={policy.Quota};w={(long)RateBucket.Window.TotalSeconds}" + (policy.Unit is { } unit ? $";qu=\"{unit}\"" : "")));
        headers[State] = string.Join(", ", policies.Select(policy =>
            $"\"{policy.Name}\";r={policy.Remaining};t={Seconds(refusal?.Limit == policy.Name ? refusal.RetryAfter : policy.UntilFull)}"));
        foreach (var policy in policies)
        {
            var kind = policy.Name == RateLimitNames.Requests ? "requests" : "tokens";
            headers[$"x-ratelimit-limit-{kind}"] = policy.Quota.ToString(CultureInfo.InvariantCulture);
            headers[$"x-ratelimit-remaining-{kind}"] = policy.Remaining.ToString(CultureInfo.InvariantCulture);
            headers[$"x-ratelimit-reset-{kind}"] = GoDuration(policy.UntilFull);
        }
        return headers;
    }

    /// <summary>Sets the headers on a response that has not started (a stream's, before its first byte).</summary>
    public static void Write(IHeaderDictionary response, IReadOnlyList<RatePolicy> policies, RateLimitRefusal? refusal = null)
    {
        foreach (var (name, value) in For(policies, refusal))
        {
            response[name] = value;
        }
    }

    /// <summary>Whole seconds, rounded up (a client waiting that long finds the capacity there).</summary>
    public static long Seconds(TimeSpan span) => Math.Max(0, (long)Math.Ceiling(span.TotalSeconds));

    /// <summary><c>250ms</c>, <c>1.5s</c>, <c>6m0s</c>: the duration format of OpenAI's reset headers.</summary>
    public static string GoDuration(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            return "0s";
        }
        if (span < TimeSpan.FromSeconds(1))
        {
            return $"{Math.Ceiling(span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}ms";
        }
        var seconds = Math.Round(span.TotalSeconds % 60, 3).ToString("0.###", CultureInfo.InvariantCulture);
        return span < TimeSpan.FromMinutes(1) ? $"{seconds}s" : $"{(long)span.TotalMinutes}m{seconds}s";
    }
}

public static class RateLimitNames
{
    /// <summary>Requests per minute.</summary>
    public const string Requests = "rpm";

    /// <summary>Tokens per minute.</summary>
    public const string Tokens = "tpm";

    public const string TokenUnit = "tokens";
}
