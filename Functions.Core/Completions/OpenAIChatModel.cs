using System.ClientModel;
using System.Collections.Concurrent;
using System.Text.Json;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using OpenAI;
using OpenAI.Chat;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace Functions.Core.Completions;

/// <summary>Calls any OpenAI-compatible chat completions API through the official OpenAI SDK.</summary>
public sealed class OpenAIChatModel(OpenAIClient client) : IChatModel
{
    private readonly ConcurrentDictionary<string, ChatClient> chatClients = new(StringComparer.Ordinal);

    public async Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var chat = chatClients.GetOrAdd(request.Model, client.GetChatClient);
        var options = new ChatCompletionOptions
        {
            Temperature = (float?)request.Temperature,
            MaxOutputTokenCount = request.MaxTokens,
            TopP = (float?)request.TopP,
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; the API has long accepted it.
            Seed = request.Seed,
#pragma warning restore OPENAI001
            ResponseFormat = ToSdkFormat(request.ResponseFormat),
        };
        foreach (var stop in request.Stop ?? [])
        {
            options.StopSequences.Add(stop);
        }
        foreach (var tool in request.Tools ?? [])
        {
            options.Tools.Add(ChatTool.CreateFunctionTool(tool.Name, tool.Description,
                tool.Parameters is { } parameters ? BinaryData.FromString(parameters.GetRawText()) : null));
        }

        ChatCompletion completion;
        try
        {
            completion = (await chat.CompleteChatAsync(request.Messages.Select(ToSdkMessage), options, cancellationToken)).Value;
        }
        catch (ClientResultException ex)
        {
            throw Classify(ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ModelCallException("upstream_timeout", "The model did not answer in time.", isTransient: true, inner: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new ModelCallException("upstream_unreachable", "The model could not be reached.", isTransient: true, inner: ex);
        }

        var usage = completion.Usage;
        return new JobResult(
            string.Concat(completion.Content.Where(part => part.Kind == ChatMessageContentPartKind.Text).Select(part => part.Text)),
            completion.Model ?? request.Model,
            FinishReasonName(completion.FinishReason),
            new TokenUsage(usage?.InputTokenCount ?? 0, usage?.InputTokenDetails?.CachedTokenCount ?? 0, usage?.OutputTokenCount ?? 0));
    }

    internal static ModelCallException Classify(ClientResultException ex)
    {
        var status = ex.Status;
        var upstreamCode = UpstreamErrorCode(ex);
        var detail = upstreamCode is null ? $"HTTP {status}" : $"HTTP {status}, {upstreamCode}";
        return status switch
        {
            // A quota that ran out is a billing state, not a blip: retrying cannot fix it.
            429 when upstreamCode == "insufficient_quota" => new("insufficient_quota",
                $"The model provider's quota for this backend is exhausted ({detail}); an operator must add credit.", false, status, ex),
            408 or 429 or >= 500 or 0 => new(status == 429 ? "rate_limited" : "upstream_error",
                $"The model provider is temporarily unavailable ({detail}).", true, status, ex),
            400 or 422 => new("model_rejected_request", $"The model rejected the request ({detail}).", false, status, ex),
            401 => new("model_unauthorized", $"The model provider rejected this backend's credentials ({detail}).", false, status, ex),
            403 => new("model_forbidden", $"The model provider refused access ({detail}).", false, status, ex),
            404 => new("model_not_found", $"The model or endpoint was not found ({detail}).", false, status, ex),
            _ => new("model_error", $"The model call failed ({detail}).", false, status, ex),
        };
    }

    /// <summary>The machine-readable code of an OpenAI error body (<c>{"error":{"code":…,"type":…}}</c>), if any.</summary>
    private static string? UpstreamErrorCode(ClientResultException ex)
    {
        try
        {
            var body = ex.GetRawResponse()?.Content;
            if (body is null || body.ToMemory().IsEmpty)
            {
                return null;
            }
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                foreach (var name in (ReadOnlySpan<string>)["code", "type"])
                {
                    if (error.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                        && value.GetString() is { Length: > 0 and <= 64 } code)
                    {
                        return code;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: the status alone classifies the failure.
        }
        return null;
    }

    private static ChatMessage ToSdkMessage(Requests.ChatMessage message) => message.Role switch
    {
        ChatRoles.System => new SystemChatMessage(message.Content),
        ChatRoles.Assistant => new AssistantChatMessage(message.Content),
        _ => new UserChatMessage(message.Content),
    };

    private static ChatResponseFormat? ToSdkFormat(ResponseFormat? format) => format?.Type switch
    {
        ResponseFormat.JsonObject => ChatResponseFormat.CreateJsonObjectFormat(),
        ResponseFormat.JsonSchemaType when format.JsonSchema is { } schema => ChatResponseFormat.CreateJsonSchemaFormat(
            schema.Name, BinaryData.FromString(schema.Schema.GetRawText()), schema.Description, schema.Strict),
        ResponseFormat.Text => ChatResponseFormat.CreateTextFormat(),
        _ => null,
    };

    private static string FinishReasonName(ChatFinishReason reason) => reason switch
    {
        ChatFinishReason.Stop => "stop",
        ChatFinishReason.Length => "length",
        ChatFinishReason.ContentFilter => "content_filter",
        ChatFinishReason.ToolCalls => "tool_calls",
        ChatFinishReason.FunctionCall => "function_call",
        _ => reason.ToString().ToLowerInvariant(),
    };
}
