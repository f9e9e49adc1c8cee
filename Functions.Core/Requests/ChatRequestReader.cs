using System.Text.Json;
using Functions.Core.Completions;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Requests;

/// <summary>
/// Turns an HTTP request into a <see cref="ChatRequest"/> or the problem that explains why it cannot be one.
/// Reads the JSON as a document rather than binding it, so that every bad field is reported at once.
/// </summary>
public sealed partial class ChatRequestReader(IOptions<RequestLimitsOptions> limits, IOptions<OpenAIOptions> openAI)
{
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
    /// The body as a JSON document, or the problem with it (media type, size, syntax, undecodable text): the part of
    /// reading that does not depend on the wire format, shared with the OpenAI-compatible door. The caller disposes it.
    /// </summary>
    public async Task<(JsonDocument? Document, IResult? Problem)> ReadJsonAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        if (!IsJson(http.ContentType))
        {
            return (null, ApiProblems.UnsupportedMediaType(http.ContentType));
        }

        var maxBytes = limits.Value.MaxBodyBytes;
        if (http.ContentLength > maxBytes)
        {
            return (null, ApiProblems.PayloadTooLarge(maxBytes));
        }

        var body = await ReadBodyAsync(http.Body, maxBytes, cancellationToken);
        if (body is null)
        {
            return (null, ApiProblems.PayloadTooLarge(maxBytes));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.Value);
        }
        catch (JsonException ex)
        {
            return (null, ApiProblems.MalformedJson((ex.LineNumber ?? 0) + 1, ex.BytePositionInLine ?? 0, FirstSentence(ex.Message)));
        }

        if (FindUndecodableText(document.RootElement, "$") is { } badPath)
        {
            document.Dispose();
            // JsonDocument accepts escapes such as "\ud800" (a lone surrogate) that no .NET string can hold.
            return (null, ApiProblems.Validation(new Dictionary<string, string[]>
            {
                [badPath] = ["Must be valid Unicode text (no unpaired surrogates or invalid UTF-8)."],
            }));
        }
        return (document, null);
    }

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

        var model = openAI.Value.DefaultModel;
        if (root.TryGetProperty("model", out var modelElement) && modelElement.ValueKind != JsonValueKind.Null)
        {
            var allowed = openAI.Value.AllowedModelSet;
            if (modelElement.ValueKind != JsonValueKind.String)
            {
                Fail("model", "Must be a string.");
            }
            else if (!allowed.Contains(modelElement.GetString()!))
            {
                Fail("model", $"Must be one of: {string.Join(", ", allowed.Order(StringComparer.Ordinal))}.");
            }
            else
            {
                model = modelElement.GetString()!;
            }
        }

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

        return errors.Count > 0
            ? null
            : new ChatRequest(messages, model, temperature, maxTokens, topP, seed, stop, responseFormat, tools, toolChoice, user);
    }

    private static ChatMessage? ValidateMessage(JsonElement element, string path, RequestLimitsOptions settings,
        Dictionary<string, string[]> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors[path] = ["Must be an object with 'role' and 'content'."];
            return null;
        }

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
            if (string.IsNullOrWhiteSpace(content) && toolCalls is null)
            {
                errors[$"{path}.content"] = ["Must not be empty."];
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

    /// <summary>The path of the first string or property name that cannot be decoded, or null when all text is valid.</summary>
    private static string? FindUndecodableText(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    element.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return path;
                }
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindUndecodableText(item, $"{path}[{index++}]") is { } bad)
                    {
                        return bad;
                    }
                }
                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return path;
                    }
                    if (FindUndecodableText(property.Value, path == "$" ? name : $"{path}.{name}") is { } bad)
                    {
                        return bad;
                    }
                }
                return null;
            default:
                return null;
        }
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && (parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || parsed.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads at most <paramref name="maxBytes"/>; null when the body is longer (chunked bodies carry no length).</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(Stream body, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static string FirstSentence(string message)
    {
        // System.Text.Json appends "Path: … | LineNumber: …", which the problem states in its own fields.
        foreach (var marker in (ReadOnlySpan<string>)[" Path:", " LineNumber:"])
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }
        return message.TrimEnd('.', ' ', '|');
    }
}
