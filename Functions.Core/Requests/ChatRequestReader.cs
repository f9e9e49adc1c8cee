using System.Text.Json;
using Functions.Core.Completions;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Functions.Core.Requests;

/// <summary>
/// Turns an HTTP request into a <see cref="ChatRequest"/> or the problem that explains why it cannot be one.
/// Reads the JSON as a document rather than binding it, so that every bad field is reported at once.
/// </summary>
public sealed partial class ChatRequestReader(IOptions<RequestLimitsOptions> limits, IOptions<OpenAIOptions> openAI,
    IOptions<Routing.RoutingOptions>? routing = null)
{
    /// <summary>The fields of a request body; anything else is refused rather than silently dropped.</summary>
    private static readonly IReadOnlySet<string> Fields = new HashSet<string>(StringComparer.Ordinal)
    {
        "messages", "model", "temperature", "maxTokens", "topP", "seed", "stop", "responseFormat", "tools", "toolChoice", "user",
        ConversationIdField, "metadata",
    };

    private static readonly IReadOnlySet<string> MessageFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "role", "content", "toolCalls", "toolCallId",
    };

    /// <summary>OpenAI's snake_case names whose camelCase is not simply the same words.</summary>
    private static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["max_completion_tokens"] = "maxTokens",
    };

    /// <summary>For a field this reader does not know: the camelCase field the client meant, if any.</summary>
    internal static Func<string, string?> CamelCaseHint(IReadOnlySet<string> known) => name =>
        Aliases.TryGetValue(name, out var alias) && known.Contains(alias) ? alias
        : known.Contains(JsonRules.SnakeToCamel(name)) ? JsonRules.SnakeToCamel(name)
        : known.FirstOrDefault(field => field.Equals(name, StringComparison.OrdinalIgnoreCase));

    public async Task<(ChatRequest? Request, IResult? Problem)> ReadAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        var (document, problem) = await ReadJsonAsync(http, cancellationToken);
        if (document is null)
        {
            return (null, problem);
        }
        using (document)
        {
            return Validate(document.RootElement);
        }
    }

    /// <summary>
    /// The body as a JSON document, or the problem with it (media type and charset, size, framing, syntax, undecodable
    /// text, duplicated keys; see <see cref="JsonRequestBody"/>): the part of reading that does not depend on the wire
    /// format, shared with the OpenAI-compatible door. The caller disposes it.
    /// </summary>
    public Task<(JsonDocument? Document, IResult? Problem)> ReadJsonAsync(HttpRequest http, CancellationToken cancellationToken) =>
        JsonRequestBody.ReadAsync(http, limits.Value.MaxBodyBytes, cancellationToken);

    /// <summary>Every rule of a chat request (this API's camelCase form), all broken ones reported at once.</summary>
    public (ChatRequest? Request, IResult? Problem) Validate(JsonElement root)
    {
        var errors = new Dictionary<string, string[]>();
        var request = Validate(root, errors);
        return errors.Count > 0 ? (null, ApiProblems.Validation(errors)) : (request, null);
    }

    private ChatRequest? Validate(JsonElement root, Dictionary<string, string[]> errors)
    {
        void Fail(string field, string message) => errors[field] = [message];

        if (root.ValueKind != JsonValueKind.Object)
        {
            Fail("$", "The body must be a JSON object.");
            return null;
        }

        JsonRules.RejectUnknownProperties(root, "$", Fields, errors, CamelCaseHint(Fields));
        var settings = limits.Value;
        var messages = new List<ChatMessage>();
        if (!root.TryGetProperty("messages", out var messagesElement) || messagesElement.ValueKind == JsonValueKind.Null)
        {
            Fail("messages", "Required: an array of 1 to " + settings.MaxMessages + " messages.");
        }
        else if (messagesElement.ValueKind != JsonValueKind.Array)
        {
            Fail("messages", "Must be an array of messages.");
        }
        else
        {
            var count = messagesElement.GetArrayLength();
            if (count == 0 || count > settings.MaxMessages)
            {
                Fail("messages", $"Must hold 1 to {settings.MaxMessages} messages (got {count}).");
            }
            var index = 0;
            var totalChars = 0L;
            foreach (var element in messagesElement.EnumerateArray())
            {
                var message = ValidateMessage(element, $"messages[{index++}]", settings, errors);
                if (message is not null)
                {
                    messages.Add(message);
                    totalChars += message.Content.Length;
                }
            }
            if (totalChars > settings.MaxTotalChars)
            {
                errors.TryAdd("messages", [$"The messages' content may total at most {settings.MaxTotalChars} characters (got {totalChars})."]);
            }
        }

        var model = ReadModel(root, errors);
        double? temperature = null;
        if (root.TryGetProperty("temperature", out var temperatureElement) && temperatureElement.ValueKind != JsonValueKind.Null)
        {
            if (temperatureElement.ValueKind != JsonValueKind.Number || !temperatureElement.TryGetDouble(out var value) || value is < 0 or > 2)
            {
                Fail("temperature", "Must be a number from 0 to 2.");
            }
            else
            {
                temperature = value;
            }
        }

        int? maxTokens = null;
        if (root.TryGetProperty("maxTokens", out var maxTokensElement) && maxTokensElement.ValueKind != JsonValueKind.Null)
        {
            if (maxTokensElement.ValueKind != JsonValueKind.Number || !maxTokensElement.TryGetInt32(out var value)
                || value < 1 || value > settings.MaxOutputTokens)
            {
                Fail("maxTokens", $"Must be a whole number from 1 to {settings.MaxOutputTokens}.");
            }
            else
            {
                maxTokens = value;
            }
        }

        var topP = ReadTopP(root, errors);
        var seed = ReadSeed(root, errors);
        var stop = ReadStop(root, errors);
        var responseFormat = ReadResponseFormat(root, errors);
        var tools = ReadTools(root, errors);
        var toolChoice = ReadToolChoice(root, tools, errors);
        var user = ReadUser(root, errors);
        var conversation = ReadConversation(root, errors);
        var task = ReadTask(root, errors);

        return errors.Count > 0
            ? null
            : new ChatRequest(messages, model, temperature, maxTokens, topP, seed, stop, responseFormat, tools, toolChoice, user, conversation, task);
    }

    private static ChatMessage? ValidateMessage(JsonElement element, string path, RequestLimitsOptions settings,
        Dictionary<string, string[]> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors[path] = ["Must be an object with 'role' and 'content'."];
            return null;
        }
        JsonRules.RejectUnknownProperties(element, path, MessageFields, errors, CamelCaseHint(MessageFields));

        string? role = null;
        if (!element.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String
            || !ChatRoles.All.Contains(roleElement.GetString()!))
        {
            errors[$"{path}.role"] = ["Must be one of: system, user, assistant, tool."];
        }
        else
        {
            role = roleElement.GetString();
        }

        var toolCalls = role == ChatRoles.Assistant ? ReadToolCalls(element, path, errors) : null;
        if (role != ChatRoles.Assistant && element.TryGetProperty("toolCalls", out _))
        {
            errors[$"{path}.toolCalls"] = ["Only allowed on an assistant message."];
        }
        var toolCallId = ReadToolCallId(element, path, role, errors);

        string? content = null;
        var hasContent = element.TryGetProperty("content", out var contentElement) && contentElement.ValueKind != JsonValueKind.Null;
        if (toolCalls is not null && !hasContent)
        {
            content = ""; // an assistant turn that only called tools
        }
        else if (!hasContent || contentElement.ValueKind != JsonValueKind.String)
        {
            errors[$"{path}.content"] = ["Required: a non-empty string."];
        }
        else
        {
            content = contentElement.GetString()!;
            if (toolCalls is null && !VisibleText.HasVisibleCharacter(content))
            {
                // Spaces, zero-width or control characters only: billed like a prompt, yet it says nothing.
                errors[$"{path}.content"] = ["Must not be empty: it needs at least one visible character."];
                content = null;
            }
            else if (content.Length > settings.MaxMessageChars)
            {
                errors[$"{path}.content"] = [$"May be at most {settings.MaxMessageChars} characters (got {content.Length})."];
                content = null;
            }
        }

        return role is null || content is null || (role == ChatRoles.Tool && toolCallId is null)
            ? null
            : new ChatMessage(role, content, toolCallId, toolCalls);
    }

    /// <summary>
    /// The model named, <c>route:{name}</c> for a configured route, or (none named) the default route, else the default
    /// model. A model outside the allowlist or an unknown route is refused by name.
    /// </summary>
    private string ReadModel(JsonElement root, Dictionary<string, string[]> errors)
    {
        var routes = routing?.Value ?? new Routing.RoutingOptions();
        var fallback = routes.DefaultRoute is { Length: > 0 } defaultRoute ? Routing.RoutingOptions.Prefix + defaultRoute : openAI.Value.DefaultModel;
        if (!root.TryGetProperty("model", out var modelElement) || modelElement.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }
        var allowed = openAI.Value.AllowedModelSet;
        var named = modelElement.ValueKind == JsonValueKind.String ? modelElement.GetString()! : null;
        if (named is null)
        {
            errors["model"] = ["Must be a string."];
        }
        else if (named.StartsWith(Routing.RoutingOptions.Prefix, StringComparison.Ordinal))
        {
            if (routes.Route(named[Routing.RoutingOptions.Prefix.Length..]) is not null)
            {
                return named;
            }
            errors["model"] = [routes.Routes.Count == 0
                ? $"Names the route '{named}', but no routes are configured."
                : $"Names an unknown route: must be one of: {string.Join(", ", routes.Routes.Select(r => Routing.RoutingOptions.Prefix + r.Name).Order(StringComparer.Ordinal))}."];
        }
        else if (allowed.Contains(named))
        {
            return named;
        }
        else
        {
            errors["model"] = [$"Must be one of: {string.Join(", ", allowed.Order(StringComparer.Ordinal).Concat(routes.Routes.Select(r => Routing.RoutingOptions.Prefix + r.Name)))}."];
        }
        return fallback;
    }

    /// <summary>Up to 16 string tags (<c>metadata</c>, as OpenAI's); <c>task</c> is the one routing reads.</summary>
    private static string? ReadTask(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (!root.TryGetProperty("metadata", out var metadata) || metadata.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (metadata.ValueKind != JsonValueKind.Object || metadata.EnumerateObject().Count() > 16
            || metadata.EnumerateObject().Any(tag => tag.Name.Length > 64 || tag.Value.ValueKind != JsonValueKind.String || tag.Value.GetString()!.Length > 512))
        {
            errors["metadata"] = ["Must be an object of at most 16 string values (keys up to 64 characters, values up to 512)."];
            return null;
        }
        return metadata.TryGetProperty("task", out var task) ? task.GetString() : null;
    }
}
