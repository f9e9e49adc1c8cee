using System.Globalization;
using System.Text.RegularExpressions;

namespace Functions.Core.Resilience;

/// <summary>
/// How long the server asks us to wait, from its response headers: <c>retry-after-ms</c> (OpenAI, Azure OpenAI), else
/// <c>retry-after</c> (seconds or an HTTP date, RFC 9110), the server's word on when to try again. Only when neither
/// is sent, <c>x-ratelimit-reset-requests</c> / <c>-tokens</c> (durations such as <c>20ms</c>, <c>6m0s</c>): they say
/// when a bucket is full again, which on a daily limit is hours, not when the next call may go.
/// </summary>
public static partial class RetryHints
{
    public static TimeSpan? Parse(Func<string, string?> header, DateTimeOffset now)
    {
        if (double.TryParse(header("retry-after-ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
        {
            return TimeSpan.FromMilliseconds(ms);
        }
        if (header("retry-after") is { } retryAfter)
        {
            if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }
            if (DateTimeOffset.TryParseExact(retryAfter, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
                && date > now)
            {
                return date - now;
            }
        }
        var resets = new[] { ParseDuration(header("x-ratelimit-reset-requests")), ParseDuration(header("x-ratelimit-reset-tokens")) };
        return resets.Max();
    }

    /// <summary>Go-style durations as OpenAI sends them: <c>1h2m3.5s</c>, <c>250ms</c>.</summary>
    internal static TimeSpan? ParseDuration(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var matches = DurationPart().Matches(text.Trim());
        if (matches.Count == 0 || matches.Sum(m => m.Length) != text.Trim().Length)
        {
            return null;
        }
        var total = TimeSpan.Zero;
        foreach (Match match in matches)
        {
            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            total += match.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "s" => TimeSpan.FromSeconds(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                _ => TimeSpan.Zero,
            };
        }
        return total;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|h|m|s)")]
    private static partial Regex DurationPart();
}
