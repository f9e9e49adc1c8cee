using System.Text.Json;

namespace Functions.Core.Requests;

/// <summary>A validated chat request: the model is resolved and every value is within limits.</summary>
public sealed record ChatRequest(
    IReadOnlyList<ChatMessage> Messages,
    string Model,
    double? Temperature,
    int? MaxTokens,
    double? TopP = null,
    long? Seed = null,
    IReadOnlyList<string>? Stop = null,
    ResponseFormat? ResponseFormat = null,
    IReadOnlyList<FunctionTool>? Tools = null);

public sealed record ChatMessage(string Role, string Content);

public static class ChatRoles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { System, User, Assistant };
}

/// <summary><c>{"type":"text"|"json_object"|"json_schema","jsonSchema":{…}}</c>; <see cref="JsonSchema"/> only with json_schema.</summary>
public sealed record ResponseFormat(string Type, JsonSchemaFormat? JsonSchema = null)
{
    public const string Text = "text";
    public const string JsonObject = "json_object";
    public const string JsonSchemaType = "json_schema";

    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal) { Text, JsonObject, JsonSchemaType };
}

public sealed record JsonSchemaFormat(string Name, string? Description, JsonElement Schema, bool? Strict);

/// <summary>A function the model may call: <c>{"type":"function","function":{"name","description"?,"parameters"?}}</c> on the wire.</summary>
public sealed record FunctionTool(string Name, string? Description, JsonElement? Parameters);
