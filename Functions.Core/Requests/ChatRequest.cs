namespace Functions.Core.Requests;

/// <summary>A validated chat request: the model is resolved and every value is within limits.</summary>
public sealed record ChatRequest(
    IReadOnlyList<ChatMessage> Messages,
    string Model,
    double? Temperature,
    int? MaxTokens);

public sealed record ChatMessage(string Role, string Content);

public static class ChatRoles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { System, User, Assistant };
}
