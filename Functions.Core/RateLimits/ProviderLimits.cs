using System.Globalization;

namespace Functions.Core.RateLimits;

/// <summary>
/// What the provider says is left of a model's limits, from its <c>x-ratelimit-limit-requests</c>,
/// <c>-remaining-requests</c>, <c>-limit-tokens</c> and <c>-remaining-tokens</c> response headers (OpenAI and Azure
/// OpenAI send them on answers and on 429s). Azure sends -1 where it does not say; that is not a number here.
/// </summary>
public sealed record ProviderLimits(long? LimitRequests, long? RemainingRequests, long? LimitTokens, long? RemainingTokens)
{
    public static ProviderLimits? Parse(Func<string, string?> header)
    {
        var limits = new ProviderLimits(Number(header("x-ratelimit-limit-requests")), Number(header("x-ratelimit-remaining-requests")),
            Number(header("x-ratelimit-limit-tokens")), Number(header("x-ratelimit-remaining-tokens")));
        return limits.RemainingRequests is null && limits.RemainingTokens is null ? null : limits;
    }

    /// <summary>How long until the provider's bucket is full again, on its own figures or else at <paramref name="bucket"/>'s rate.</summary>
    public static TimeSpan? UntilFull(long? limit, long? remaining, RateBucket bucket)
    {
        if (remaining is not { } left)
        {
            return null;
        }
        var quota = limit ?? bucket.Limit;
        return quota <= 0 ? null : TimeSpan.FromTicks((long)((double)Math.Max(0, quota - left) / quota * RateBucket.Window.Ticks));
    }

    private static long? Number(string? text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
