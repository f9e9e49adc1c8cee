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
public sealed partial class ChatRequestReader(IOptions<RequestLimitsOptions> limits, IOptions<OpenAIOptions> openAI)
{
    /// <summary>The fields of a request body; anything else is refused rather than silently dropped.</summary>
    private static readonly IReadOnlySet<string> Fields = new HashSet<string>(StringComparer.Ordinal)
    {
        "messages", "model", "temperature", "maxTokens", "topP", "seed", "stop", "responseFormat", "tools",
    };

    /// <summary>OpenAI's snake_case names whose camelCase is not simply the same words.</summary>
    private static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["max_completion_tokens"] = "maxTokens",
    };

    public async Task<(ChatRequest? Request, IResult? Problem)> ReadAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        var (document, problem) = await JsonRequestBody.ReadAsync(http, limits.Value.MaxBodyBytes, cancellationToken);
        if (document is null)
        {
            return (null, problem);
        }
        using (document)
        {
            var errors = new Dictionary<string, string[]>();
            var request = Validate(document.RootElement, errors);
            return errors.Count > 0 ? (null, ApiProblems.Validation(errors)) : (request, null);
        }
    }

    /// <summary>For a field this reader does not know: the camelCase field the client meant, if any.</summary>
    internal static Func<string, string?> CamelCaseHint(IReadOnlySet<string> known) => name =>
        Aliases.TryGetValue(name, out var alias) && known.Contains(alias) ? alias
        : known.Contains(JsonRules.SnakeToCamel(name)) ? JsonRules.SnakeToCamel(name)
        : known.FirstOrDefault(field => field.Equals(name, StringComparison.OrdinalIgnoreCase));

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
                var message = ChatMessageRules.Read(element, $"messages[{index++}]", settings, errors);
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

        return errors.Count > 0 ? null : new ChatRequest(messages, model, temperature, maxTokens, topP, seed, stop, responseFormat, tools);
    }
}
