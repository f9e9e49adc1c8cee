using System.Text.Json;
using System.Text.Json.Nodes;
using Functions.Core.Requests;
using Microsoft.AspNetCore.Http;

namespace Functions.Core.ChatCompletions;

/// <summary>
/// Reads OpenAI's Chat Completions request (snake_case, content parts, <c>max_completion_tokens</c>, ...) into the
/// shared <see cref="ChatRequest"/>. It translates the fields this backend supports into <c>/api/chat</c>'s form and
/// runs <see cref="ChatRequestReader"/>'s own validation on it, so both doors keep exactly the same rules and limits;
/// errors name the field as the client sent it. Fields this backend does not support are refused by name, never
/// dropped: a client must not believe it got <c>n: 3</c> or <c>logprobs</c> when it did not.
/// </summary>
public sealed class ChatCompletionRequestReader(ChatRequestReader reader)
{
    /// <summary>OpenAI's request fields that this backend does not implement; allowed only at their default value.</summary>
    private static readonly IReadOnlyDictionary<string, Func<JsonElement, bool>> UnsupportedUnlessDefault =
        new Dictionary<string, Func<JsonElement, bool>>(StringComparer.Ordinal)
        {
            ["n"] = value => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n == 1,
            ["logprobs"] = value => value.ValueKind == JsonValueKind.False,
            ["top_logprobs"] = _ => false,
            ["parallel_tool_calls"] = value => value.ValueKind == JsonValueKind.True,
            ["frequency_penalty"] = IsZero,
            ["presence_penalty"] = IsZero,
            ["logit_bias"] = value => value.ValueKind == JsonValueKind.Object && !value.EnumerateObject().Any(),
            ["store"] = value => value.ValueKind == JsonValueKind.False,
            ["modalities"] = value => value.ValueKind == JsonValueKind.Array
                                      && value.EnumerateArray().All(item => item.ValueKind == JsonValueKind.String && item.GetString() == "text"),
            ["audio"] = _ => false,
            ["prediction"] = _ => false,
            ["functions"] = _ => false,
            ["function_call"] = _ => false,
            ["service_tier"] = _ => false,
            ["reasoning_effort"] = _ => false,
            ["web_search_options"] = _ => false,
            ["verbosity"] = _ => false,
            ["prompt_cache_key"] = _ => false,
            ["safety_identifier"] = _ => false,
        };

    /// <summary>Wire names that map one to one onto <c>/api/chat</c>'s (the rest are translated below).</summary>
    private static readonly IReadOnlyDictionary<string, string> Renamed = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["model"] = "model",
        ["temperature"] = "temperature",
        ["top_p"] = "topP",
        ["seed"] = "seed",
        ["stop"] = "stop",
        ["tools"] = "tools",
        ["tool_choice"] = "toolChoice",
        ["user"] = "user",
        ["metadata"] = "metadata",
    };

    /// <summary>Names the stored conversation a request continues, as the extra body field <c>conversation_id</c> does.</summary>
    public const string ConversationIdHeader = "X-Conversation-Id";
    public const string ConversationIdField = "conversation_id";

    public async Task<(ChatCompletionCall? Call, IResult? Error)> ReadAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        var (document, problem) = await reader.ReadJsonAsync(http, cancellationToken);
        if (document is null)
        {
            return (null, OpenAIErrors.FromProblem(problem!));
        }
        using (document)
        {
            return Read(document.RootElement, http.Headers[ConversationIdHeader].ToString() is { Length: > 0 } header ? header : null);
        }
    }

    /// <param name="conversationHeader">The <c>X-Conversation-Id</c> header, which names the conversation as the body field would.</param>
    internal (ChatCompletionCall? Call, IResult? Error) Read(JsonElement root, string? conversationHeader = null)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, OpenAIErrors.Invalid(null, "The body must be a JSON object."));
        }

        var translated = new JsonObject();
        var maxTokensField = "max_tokens";
        bool stream = false, includeUsage = false;
        JsonElement? streamOptions = null;
        foreach (var property in root.EnumerateObject())
        {
            var (name, value) = (property.Name, property.Value);
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue; // null is "not set", as OpenAI reads it
            }
            if (UnsupportedUnlessDefault.TryGetValue(name, out var isDefault))
            {
                if (!isDefault(value))
                {
                    return (null, OpenAIErrors.Invalid(name, $"'{name}' is not supported by this backend.", "unsupported_parameter"));
                }
                continue;
            }
            switch (name)
            {
                case "messages":
                    var (messages, messageError) = TranslateMessages(value);
                    if (messageError is not null)
                    {
                        return (null, messageError);
                    }
                    translated["messages"] = messages;
                    break;
                case "max_tokens" or "max_completion_tokens":
                    if (translated["maxTokens"] is { } other && other.ToJsonString() != value.GetRawText())
                    {
                        return (null, OpenAIErrors.Invalid(name, "max_tokens and max_completion_tokens disagree: send one of them."));
                    }
                    maxTokensField = name;
                    translated["maxTokens"] = JsonNode.Parse(value.GetRawText());
                    break;
                case "response_format":
                    translated["responseFormat"] = TranslateResponseFormat(value);
                    break;
                case "stream":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        return (null, OpenAIErrors.Invalid("stream", "Must be true or false."));
                    }
                    stream = value.GetBoolean();
                    break;
                case "stream_options":
                    streamOptions = value;
                    break;
                case ConversationIdField:
                    translated[ChatRequestReader.ConversationIdField] = JsonNode.Parse(value.GetRawText());
                    break;
                default:
                    if (!Renamed.TryGetValue(name, out var internalName))
                    {
                        return (null, OpenAIErrors.Invalid(name, $"Unknown field '{name}'.", "unknown_parameter"));
                    }
                    translated[internalName] = JsonNode.Parse(value.GetRawText());
                    break;
            }
        }

        if (streamOptions is { } options)
        {
            if (!stream)
            {
                return (null, OpenAIErrors.Invalid("stream_options", "Only allowed with stream: true."));
            }
            if (options.ValueKind != JsonValueKind.Object || options.EnumerateObject().Any(option => option.Name != "include_usage")
                || (options.TryGetProperty("include_usage", out var include) && include.ValueKind is not (JsonValueKind.True or JsonValueKind.False)))
            {
                return (null, OpenAIErrors.Invalid("stream_options", "Must be {\"include_usage\": true|false}."));
            }
            includeUsage = options.TryGetProperty("include_usage", out var value) && value.GetBoolean();
        }

        if (conversationHeader is not null)
        {
            if (translated[ChatRequestReader.ConversationIdField] is { } named && named.ToJsonString() != JsonValue.Create(conversationHeader).ToJsonString())
            {
                return (null, OpenAIErrors.Invalid(ConversationIdField, $"The {ConversationIdHeader} header and conversation_id disagree: send one of them."));
            }
            translated[ChatRequestReader.ConversationIdField] = conversationHeader;
        }

        using var internalForm = JsonDocument.Parse(translated.ToJsonString());
        var (request, problem) = reader.Validate(internalForm.RootElement);
        return request is null
            ? (null, OpenAIErrors.FromProblem(problem!, field => WireName(field, maxTokensField)))
            : (new ChatCompletionCall(request, stream, includeUsage), null);
    }

    private static (JsonNode? Messages, IResult? Error) TranslateMessages(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array)
        {
            return (JsonNode.Parse(messages.GetRawText()), null); // the shared rules say what is wrong with it
        }
        var translated = new JsonArray();
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var path = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                translated.Add(JsonNode.Parse(message.GetRawText()));
                continue;
            }
            var item = new JsonObject();
            foreach (var property in message.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "role":
                        // "developer" is what OpenAI now calls the system prompt of reasoning models.
                        item["role"] = property.Value is { ValueKind: JsonValueKind.String } role && role.GetString() == "developer"
                            ? ChatRoles.System
                            : JsonNode.Parse(property.Value.GetRawText());
                        break;
                    case "content":
                        var (content, contentError) = TranslateContent(property.Value, $"{path}.content");
                        if (contentError is not null)
                        {
                            return (null, contentError);
                        }
                        item["content"] = content;
                        break;
                    case "tool_call_id":
                        item["toolCallId"] = JsonNode.Parse(property.Value.GetRawText());
                        break;
                    case "tool_calls":
                        item["toolCalls"] = JsonNode.Parse(property.Value.GetRawText());
                        break;
                    case "name" or "refusal" when property.Value.ValueKind == JsonValueKind.Null:
                        break;
                    default:
                        return (null, OpenAIErrors.Invalid($"{path}.{property.Name}",
                            $"'{property.Name}' is not supported on messages by this backend.", "unsupported_parameter"));
                }
            }
            translated.Add(item);
        }
        return (translated, null);
    }

    /// <summary>A string, or text content parts joined (they are one message to the model); other parts are refused.</summary>
    private static (JsonNode? Content, IResult? Error) TranslateContent(JsonElement content, string path)
    {
        if (content.ValueKind != JsonValueKind.Array)
        {
            return (JsonNode.Parse(content.GetRawText()), null);
        }
        var text = new System.Text.StringBuilder();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partPath = $"{path}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return (null, OpenAIErrors.Invalid(partPath, "Must be a content part such as {\"type\":\"text\",\"text\":\"…\"}."));
            }
            if (type.GetString() != "text")
            {
                return (null, OpenAIErrors.Invalid($"{partPath}.type", $"Only text content parts are supported (got '{type.GetString()}').",
                    "unsupported_parameter"));
            }
            if (!part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
            {
                return (null, OpenAIErrors.Invalid($"{partPath}.text", "Required: a string."));
            }
            text.Append(value.GetString());
        }
        return (JsonValue.Create(text.ToString()), null);
    }

    private static JsonNode? TranslateResponseFormat(JsonElement format)
    {
        var node = JsonNode.Parse(format.GetRawText());
        if (node is JsonObject formatObject && formatObject["json_schema"] is { } schema)
        {
            formatObject.Remove("json_schema");
            formatObject["jsonSchema"] = schema;
        }
        return node;
    }

    /// <summary>A field as <c>/api/chat</c> names it, as this client sent it.</summary>
    internal static string WireName(string field, string maxTokensField) => field
        .Replace("maxTokens", maxTokensField, StringComparison.Ordinal)
        .Replace("topP", "top_p", StringComparison.Ordinal)
        .Replace("responseFormat", "response_format", StringComparison.Ordinal)
        .Replace("jsonSchema", "json_schema", StringComparison.Ordinal)
        .Replace("toolChoice", "tool_choice", StringComparison.Ordinal)
        .Replace("toolCallId", "tool_call_id", StringComparison.Ordinal)
        .Replace("toolCalls", "tool_calls", StringComparison.Ordinal)
        .Replace(ChatRequestReader.ConversationIdField, ConversationIdField, StringComparison.Ordinal);

    private static bool IsZero(JsonElement value) => value.ValueKind == JsonValueKind.Number && value.GetDouble() == 0;
}
