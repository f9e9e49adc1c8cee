using Azure;

namespace Functions.Core.Conversations;

/// <summary>
/// A conversation's head: who owns it, its system prompt and model, how many messages it holds, its running summary,
/// and the turn being answered now (<see cref="PendingTurn"/>, held until <see cref="PendingUntil"/>), which keeps two
/// turns from interleaving. <see cref="Deleting"/>: a delete has begun; the conversation is gone for every reader.
/// </summary>
public sealed record Conversation(
    string Id,
    string Caller,
    string? Title,
    string? SystemPrompt,
    string Model,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivityAt,
    int MessageCount = 0,
    ConversationSummary? Summary = null,
    string? PendingTurn = null,
    DateTimeOffset? PendingUntil = null,
    bool Deleting = false,
    ETag ETag = default)
{
    /// <summary>The turn that holds the conversation at <paramref name="now"/>, if any.</summary>
    public string? HeldBy(DateTimeOffset now) => PendingTurn is not null && PendingUntil > now ? PendingTurn : null;
}

/// <summary>
/// The running summary of the conversation's first <see cref="Covers"/> messages, extended by <see cref="Calls"/>
/// summary calls so far, each folding in only the turns that had fallen out of the history budget since the last.
/// </summary>
public sealed record ConversationSummary(string Text, int Covers, int Calls, DateTimeOffset UpdatedAt);

/// <summary>
/// One stored message. <see cref="Tokens"/> is what it costs in a prompt (content, role and the chat format's frame),
/// counted once, when it was stored, in <see cref="Encoding"/>; <see cref="TurnId"/> is the job or request that added it.
/// </summary>
public sealed record StoredMessage(int Index, string Role, string Content, int Tokens, string Encoding, string TurnId,
    DateTimeOffset CreatedAt);

/// <summary>
/// What a job or interactive call knows of the conversation it continues: which one, how many messages it held when the
/// turn took it (<see cref="BaseCount"/>: the turn is appended only onto exactly that history), what was sent
/// (<see cref="HistoryTokens"/> in <see cref="HistoryMessages"/> earlier messages, the summary or not, and how many
/// older messages were neither sent nor summarised), and <see cref="Fingerprint"/>, the request as submitted (before
/// the history was added), which an Idempotency-Key replay is compared by.
/// </summary>
public sealed record ConversationTurn(
    string ConversationId,
    int BaseCount,
    int HistoryTokens,
    int HistoryMessages,
    bool SummaryUsed,
    int TrimmedMessages,
    string Fingerprint);

/// <summary>The response headers that say what a turn's history cost (the interactive door's streams have no body for it).</summary>
public static class ConversationHeaders
{
    public const string Id = "x-conversation-id";
    public const string HistoryTokens = "x-conversation-history-tokens";
    public const string SummaryUsed = "x-conversation-summary-used";

    public static IEnumerable<KeyValuePair<string, string>> Of(ConversationTurn? turn) => turn is null
        ? []
        : [
            new(Id, turn.ConversationId),
            new(HistoryTokens, turn.HistoryTokens.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new(SummaryUsed, turn.SummaryUsed ? "true" : "false"),
        ];
}

public static class ConversationRoutes
{
    public const string Collection = "conversations";
    public const string Item = "conversations/{id}";

    public static string ItemUrl(string id) => $"/api/conversations/{id}";
}
