using System.Text.Json;

namespace Functions.Core.Requests;

/// <summary>
/// One chat message as every route reads it: <c>{"role":"system|user|assistant","content":"…"}</c> and nothing else,
/// with content that shows at least one visible character and fits <see cref="RequestLimitsOptions.MaxMessageChars"/>.
/// The field names are the same in camelCase and snake_case, so both the <c>/api/chat</c> reader and the
/// OpenAI-compatible one call this.
/// </summary>
public static class ChatMessageRules
{
    private static readonly IReadOnlySet<string> Fields = new HashSet<string>(StringComparer.Ordinal) { "role", "content" };

    /// <returns>The message, or null with its errors added under <paramref name="path"/>.</returns>
    public static ChatMessage? Read(JsonElement element, string path, RequestLimitsOptions limits, Dictionary<string, string[]> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors[path] = ["Must be an object with 'role' and 'content'."];
            return null;
        }
        JsonRules.RejectUnknownProperties(element, path, Fields, errors);

        string? role = null;
        if (!element.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String
            || !ChatRoles.All.Contains(roleElement.GetString()!))
        {
            errors[$"{path}.role"] = ["Must be one of: system, user, assistant."];
        }
        else
        {
            role = roleElement.GetString();
        }

        string? content = null;
        if (!element.TryGetProperty("content", out var contentElement) || contentElement.ValueKind != JsonValueKind.String)
        {
            errors[$"{path}.content"] = ["Required: a non-empty string."];
        }
        else
        {
            content = contentElement.GetString()!;
            if (!VisibleText.HasVisibleCharacter(content))
            {
                // Spaces, zero-width or control characters only: billed like a prompt, yet it says nothing.
                errors[$"{path}.content"] = ["Must not be empty: it needs at least one visible character."];
                content = null;
            }
            else if (content.Length > limits.MaxMessageChars)
            {
                errors[$"{path}.content"] = [$"May be at most {limits.MaxMessageChars} characters (got {content.Length})."];
                content = null;
            }
        }

        return role is null || content is null ? null : new ChatMessage(role, content);
    }
}
