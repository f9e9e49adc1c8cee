using System.Text.Json;
using Azure.Storage.Queues;

namespace Functions.Core.Conversations;

/// <summary>A request to extend a conversation's summary: which caller's, which conversation.</summary>
public sealed record SummaryMessage(string Caller, string ConversationId)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    public static SummaryMessage? TryParse(string text)
    {
        try
        {
            return JsonSerializer.Deserialize<SummaryMessage>(text, Json) is { Caller.Length: > 0, ConversationId.Length: > 0 } message
                ? message
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// The queue that hands summary requests to the <c>SummarizeConversation</c> trigger, so that a summary call never
/// runs inside a user's turn: the turn that needs one is already answered, and the next turn uses it once it is there.
/// </summary>
public sealed class SummaryQueue(QueueClient queue)
{
    public QueueClient Client => queue;

    public Task EnqueueAsync(string caller, string conversationId, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(new SummaryMessage(caller, conversationId).Serialize(), cancellationToken);
}
