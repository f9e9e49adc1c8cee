using System.Text.Json;
using System.Text.Json.Nodes;

namespace Functions.Core.Alerts;

/// <summary>
/// One alert as every channel shows it: a stable <see cref="Id"/> (receivers can drop a repeat), a title, plain
/// text lines, and machine-readable <see cref="Details"/>. It is composed once, stored with the alert's state, and
/// sent unchanged however many runs it takes to deliver.
/// </summary>
public sealed record AlertMessage(string Id, string Type, string Title, IReadOnlyList<string> Lines, JsonObject Details)
{
    public const string BudgetThreshold = "budget.threshold";
    public const string DailyDigest = "spend.daily_digest";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Text => string.Join('\n', Lines);

    /// <summary>The generic webhook's body: <c>{ "id", "type", "title", "text", ...details }</c>.</summary>
    public string ToJson()
    {
        var body = new JsonObject { ["id"] = Id, ["type"] = Type, ["title"] = Title, ["text"] = Text };
        foreach (var (name, value) in Details)
        {
            body[name] = value?.DeepClone();
        }
        return body.ToJsonString(Json);
    }

    public static AlertMessage FromJson(string json)
    {
        var body = JsonNode.Parse(json)!.AsObject();
        var details = new JsonObject();
        foreach (var (name, value) in body)
        {
            if (name is not ("id" or "type" or "title" or "text"))
            {
                details[name] = value?.DeepClone();
            }
        }
        return new AlertMessage((string)body["id"]!, (string)body["type"]!, (string)body["title"]!,
            ((string)body["text"]!).Split('\n'), details);
    }

    /// <summary>A Slack incoming webhook's body: <c>{ "text": "*title*\n…" }</c> (mrkdwn).</summary>
    public string ToSlackJson() => new JsonObject { ["text"] = $"*{SlackEscape(Title)}*\n{SlackEscape(Text)}" }.ToJsonString(Json);

    /// <summary>Slack reads &amp;, &lt; and &gt; as markup; a caller id must not become a link or a mention.</summary>
    private static string SlackEscape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>
    /// A Teams incoming webhook's body: a message with one Adaptive Card, the format both Teams Workflows webhooks and
    /// the older connector webhooks accept.
    /// </summary>
    public string ToTeamsJson()
    {
        var body = new JsonArray { new JsonObject { ["type"] = "TextBlock", ["text"] = Title, ["weight"] = "Bolder", ["size"] = "Medium", ["wrap"] = true } };
        foreach (var line in Lines)
        {
            body.Add(new JsonObject { ["type"] = "TextBlock", ["text"] = line, ["wrap"] = true });
        }
        return new JsonObject
        {
            ["type"] = "message",
            ["attachments"] = new JsonArray
            {
                new JsonObject
                {
                    ["contentType"] = "application/vnd.microsoft.card.adaptive",
                    ["content"] = new JsonObject
                    {
                        ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
                        ["type"] = "AdaptiveCard",
                        ["version"] = "1.4",
                        ["body"] = body,
                    },
                },
            },
        }.ToJsonString(Json);
    }

    public string Body(AlertFormat format) => format switch
    {
        AlertFormat.Slack => ToSlackJson(),
        AlertFormat.Teams => ToTeamsJson(),
        _ => ToJson(),
    };
}
