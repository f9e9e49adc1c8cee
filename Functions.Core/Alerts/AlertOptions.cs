using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Alerts;

/// <summary>
/// Where budget alerts and the daily digest go. Bound from the <c>Alerts</c> configuration section. With no channel
/// configured nothing is sent and no alert state is written. The webhook URLs are secrets (they carry their own
/// credentials): keep them in Key Vault and never log them.
/// </summary>
public sealed class AlertOptions : IValidatableObject
{
    public const string SectionName = "Alerts";

    /// <summary>Comma-separated percentages of a budget at which to alert once per window.</summary>
    public string Thresholds { get; set; } = "50,80,100";

    /// <summary>A generic JSON webhook: receives the alert as one JSON object (<see cref="AlertMessage.ToJson"/>).</summary>
    public string? WebhookUrl { get; set; }

    /// <summary>A Slack incoming webhook (<c>https://hooks.slack.com/services/…</c>).</summary>
    public string? SlackWebhookUrl { get; set; }

    /// <summary>A Microsoft Teams incoming webhook or Workflows "post to a channel when a webhook request is received" URL.</summary>
    public string? TeamsWebhookUrl { get; set; }

    /// <summary>Send yesterday's spend, top callers and models, and cache savings once a day.</summary>
    public bool DailyDigest { get; set; } = true;

    /// <summary>How long a sender may hold an alert before another run may take it over (a sender that crashed).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "01:00:00")]
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A method, not a property: option validation reads every property, and this one parses.</summary>
    public IReadOnlyList<int> ThresholdPercents() =>
        [.. Thresholds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(int.Parse).Distinct().Order()];

    public IReadOnlyList<AlertChannel> Channels() => ChannelsFor(WebhookUrl, SlackWebhookUrl, TeamsWebhookUrl);

    /// <summary>A channel for each URL that is set and absolute (a vault value is not validated at start-up, so a bad one is skipped).</summary>
    public static IReadOnlyList<AlertChannel> ChannelsFor(string? webhookUrl, string? slackWebhookUrl, string? teamsWebhookUrl) =>
    [
        .. Channel(AlertFormat.Webhook, webhookUrl),
        .. Channel(AlertFormat.Slack, slackWebhookUrl),
        .. Channel(AlertFormat.Teams, teamsWebhookUrl),
    ];

    private static IEnumerable<AlertChannel> Channel(AlertFormat format, string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? [new AlertChannel(format, uri)] : [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var threshold in Thresholds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(threshold, out var percent) || percent is < 1 or > 1000)
            {
                yield return new ValidationResult(
                    $"Alerts:Thresholds must be comma-separated whole percentages from 1 to 1000 (got '{threshold}').", [nameof(Thresholds)]);
            }
        }
        foreach (var (name, url) in (IEnumerable<(string, string?)>)
                 [(nameof(WebhookUrl), WebhookUrl), (nameof(SlackWebhookUrl), SlackWebhookUrl), (nameof(TeamsWebhookUrl), TeamsWebhookUrl)])
        {
            if (!string.IsNullOrWhiteSpace(url)
                && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)))
            {
                // The value is a secret: the message names the setting, never its content.
                yield return new ValidationResult($"Alerts:{name} must be an absolute http(s) URL.", [name]);
            }
        }
    }
}

public enum AlertFormat
{
    Webhook,
    Slack,
    Teams,
}

/// <summary>One destination; its <see cref="Url"/> is a secret.</summary>
public sealed record AlertChannel(AlertFormat Format, Uri Url)
{
    public string Name => Format.ToString().ToLowerInvariant();

    /// <summary>The name only: the URL must never reach a log line.</summary>
    public override string ToString() => Name;
}
