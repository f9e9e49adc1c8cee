using System.Globalization;
using System.Text.RegularExpressions;

namespace Functions.Core.Resilience;

/// <summary>
/// How long the server asks us to wait, from its response headers: <c>retry-after-ms</c> (OpenAI, Azure OpenAI),
/// <c>retry-after</c> (seconds or an HTTP date, RFC 9110), and <c>x-ratelimit-reset-requests</c> /
/// <c>-tokens</c> (OpenAI durations such as <c>20ms</c>, <c>1s</c>, <c>6m0s</c>). The longest hint wins.
/// </summary>
public static partial class RetryHints
{
    public static TimeSpan? Parse(Func<string, string?> header, DateTimeOffset now)
    {
        TimeSpan? longest = null;
        void Consider(TimeSpan? hint)
        {
            if (hint is { } value && value >= TimeSpan.Zero && (longest is null || value > longest))
            {
                longest = value;
            }
        }

        if (double.TryParse(header("retry-after-ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
        {
            Consider(TimeSpan.FromMilliseconds(ms));
        }
        if (header("retry-after") is { } retryAfter)
        {
            if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            {
                Consider(TimeSpan.FromSeconds(seconds));
            }
            else if (DateTimeOffset.TryParseExact(retryAfter, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                Consider(date - now);
            }
        }
        Consider(ParseDuration(header("x-ratelimit-reset-requests")));
        Consider(ParseDuration(header("x-ratelimit-reset-tokens")));
        return longest;
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
