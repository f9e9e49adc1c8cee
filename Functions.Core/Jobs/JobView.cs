using System.Text.Json.Serialization;
using Functions.Core.Spend;

namespace Functions.Core.Jobs;

/// <summary>The JSON a caller sees for a job: <c>GET /api/chat/{id}</c>, and the body of a 202.</summary>
public sealed record JobView(
    string Id,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JobResultView? Result,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JobError? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? RetryAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StreamUrl = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ConversationTurnView? Conversation = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RouteView? Route = null)
{
    /// <param name="prices">Prices the answer's usage, so a client can show what it cost without a price list of its own.</param>
    public static JobView From(Job job, PriceTable prices) => new(
        job.Id,
        job.Status.ToString(),
        job.Result is { } r
            ? new JobResultView(r.Content, r.Model, r.FinishReason, r.Usage,
                Money.Usd(prices.Cost(r.Model, r.Usage, job.CompletedAt ?? job.CreatedAt).Micros), r.ToolCalls, r.Stale ? true : null)
            : null,
        job.Status == JobStatus.Failed ? job.Error : null,
        job.CreatedAt,
        job.CompletedAt,
        job.Status == JobStatus.Queued ? job.RetryAt : null,
        StreamUrl: null,
        Conversation: job.Conversation is { } turn ? ConversationTurnView.From(turn) : null,
        Route: job.Request.Route is { } plan ? RouteView.From(job.Request.Model, plan) : null);
}

/// <summary>
/// How the job's model was chosen: the route (absent when the request named its model), the model called last, why,
/// the candidates in order, and each one left behind with the failure that made the job leave it.
/// </summary>
public sealed record RouteView(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    string Model,
    string Reason,
    IReadOnlyList<string> Candidates,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<Routing.RouteFallback>? Fallbacks)
{
    public static RouteView From(string model, Routing.RoutePlan plan) => new(plan.Route, model, plan.Reason, plan.Candidates, plan.Fallbacks);
}

/// <summary>What a conversation turn sent besides its new message, so a developer can see what it cost and why.</summary>
public sealed record ConversationTurnView(string Id, int HistoryTokens, int HistoryMessages, bool SummaryUsed, int TrimmedMessages)
{
    public static ConversationTurnView From(Conversations.ConversationTurn turn) =>
        new(turn.ConversationId, turn.HistoryTokens, turn.HistoryMessages, turn.SummaryUsed, turn.TrimmedMessages);
}

/// <param name="CostUsd">What the model call that produced this answer cost, priced like its ledger entry; a cache hit
/// that returns it costs nothing again (the spend ledger records it as a saving).</param>
public sealed record JobResultView(string Content, string Model, string FinishReason, TokenUsage Usage, decimal CostUsd,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<Requests.ToolCall>? ToolCalls = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Stale = null);

/// <summary>The body of a 202: the job, where to poll it, and where to stream it (a URL that carries its own short-lived token).</summary>
public sealed record AcceptedJobView(string Id, string Status, string StatusUrl, string StreamUrl);

public static class JobRoutes
{
    public const string Submit = "chat";
    public const string Status = "chat/{id}";
    public const string Stream = "chat/{id}/stream";

    /// <summary>Relative, so it stays right behind any proxy or custom domain; clients resolve it against the API's origin.</summary>
    public static string StatusUrl(string id) => $"/api/chat/{id}";

    /// <summary>The job's stream, with the token that lets an EventSource open it (base64url and digits: nothing to escape).</summary>
    public static string StreamUrl(string id, string token) => $"/api/chat/{id}/stream?token={token}";
}
