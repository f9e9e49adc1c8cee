using System.Text.Json;

namespace Functions.Core.Requests;

/// <summary>
/// A validated chat request: the model is resolved and every value is within limits. <see cref="Conversation"/> is set
/// on a turn of a stored conversation as submitted (its one new user message); the request the model is sent, with
/// the history added, has none. <see cref="Task"/> is the caller's task tag (<c>metadata.task</c>); <see cref="Route"/>
/// is how <see cref="Model"/> was chosen and what to fall back to (set by the router, advanced by the model caller).
/// </summary>
public sealed record ChatRequest(
    IReadOnlyList<ChatMessage> Messages,
    string Model,
    double? Temperature,
    int? MaxTokens,
    double? TopP = null,
    long? Seed = null,
    IReadOnlyList<string>? Stop = null,
    ResponseFormat? ResponseFormat = null,
    IReadOnlyList<FunctionTool>? Tools = null,
    string? ToolChoice = null,
    string? User = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    ConversationReference? Conversation = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    string? Task = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    Routing.RoutePlan? Route = null);

/// <summary>The stored conversation a request continues, and whether it named its model (else the conversation's applies).</summary>
public sealed record ConversationReference(string Id, bool ModelNamed);

/// <summary>
/// One message of the conversation. An assistant message may carry the <see cref="ToolCalls"/> it made (its content
/// may then be empty); a <c>tool</c> message answers one of them, by <see cref="ToolCallId"/>.
/// </summary>
public sealed record ChatMessage(string Role, string Content, string? ToolCallId = null, IReadOnlyList<ToolCall>? ToolCalls = null);

/// <summary>A function call the model asked for: its id, the function's name, and the arguments as JSON text.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

public static class ChatRoles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { System, User, Assistant, Tool };
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

/// <summary>What the model may do with the tools: <c>auto</c>, <c>none</c>, <c>required</c>, or call the one function named.</summary>
public static class ToolChoices
{
    public const string Auto = "auto";
    public const string None = "none";
    public const string Required = "required";

    public static readonly IReadOnlySet<string> Modes = new HashSet<string>(StringComparer.Ordinal) { Auto, None, Required };
}
