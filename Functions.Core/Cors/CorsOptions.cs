namespace Functions.Core.Cors;

/// <summary>
/// Which browser origins may call the API. Bound from the <c>Cors</c> section; the deployment sets it from the same
/// list as the Function App's platform CORS (infra's <c>corsAllowedOrigins</c>), so the two never disagree.
/// </summary>
public sealed class CorsOptions
{
    public const string SectionName = "Cors";

    /// <summary>Comma-separated origins, such as <c>https://app.contoso.com</c> (an app setting stays one line).</summary>
    public string AllowedOrigins { get; set; } = "";

    public IReadOnlyList<string> AllowedOriginList =>
        AllowedOrigins.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(origin => origin.TrimEnd('/'))
            .ToList();
}

/// <summary>The headers a browser app must be able to send and read across origins.</summary>
public static class CorsHeaders
{
    /// <summary>
    /// Read by SPAs and the official SDKs: waits, cache outcome, request ids, where a job is, rate limits, the model and
    /// route that answered, the conversation, the budget left. Browsers
    /// hide every response header not listed here (or CORS-safelisted) from cross-origin scripts.
    /// </summary>
    public static readonly IReadOnlyList<string> Exposed =
    [
        "Retry-After", "Cache-Status", "Age", "Location", "x-request-id", "x-should-retry",
        "RateLimit", "RateLimit-Policy",
        "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
        "x-route", "x-model",
        Conversations.ConversationHeaders.Id, Conversations.ConversationHeaders.HistoryTokens, Conversations.ConversationHeaders.SummaryUsed,
        .. Spend.BudgetHeadroom.Headers,
    ];

    /// <summary>Origins a developer's SPA dev server has (Vite on :5173 and the like), allowed in Development only.</summary>
    public static bool IsLoopbackOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
        && (uri.IsLoopback || uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase));
}
