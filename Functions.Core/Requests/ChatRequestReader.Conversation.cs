using System.Text.Json;
using Functions.Core.Jobs;

namespace Functions.Core.Requests;

public sealed partial class ChatRequestReader
{
    public const string ConversationIdField = "conversationId";

    /// <summary>
    /// <c>conversationId</c>: a turn of a stored conversation. It carries only the new user message (the backend adds
    /// the system prompt and the history) and no tools: a stored turn is a question and its answer.
    /// </summary>
    private static ConversationReference? ReadConversation(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (!root.TryGetProperty(ConversationIdField, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.String || !JobIds.IsWellFormed(element.GetString()))
        {
            errors[ConversationIdField] = ["Must be a conversation id: the 32 hexadecimal digits that POST /api/conversations answered with."];
            return null;
        }
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array
            && (messages.GetArrayLength() != 1
                || messages[0] is not { ValueKind: JsonValueKind.Object } only
                || !only.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String || role.GetString() != ChatRoles.User))
        {
            errors.TryAdd("messages", ["With a conversationId, send only the new user message: the conversation holds the system prompt and the history."]);
        }
        foreach (var field in (ReadOnlySpan<string>)["tools", "toolChoice"])
        {
            if (root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                errors[field] = ["Not supported with a conversationId."];
            }
        }
        var modelNamed = root.TryGetProperty("model", out var model) && model.ValueKind != JsonValueKind.Null;
        return new ConversationReference(element.GetString()!, modelNamed);
    }
}
