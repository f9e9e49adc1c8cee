using System.ClientModel;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Requests;
using Functions.Core.Resilience;
using OpenAI;
using OpenAI.Chat;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace Functions.Core.Completions;

/// <summary>
/// One attempt at any OpenAI-compatible chat completions API through the official OpenAI SDK, with every failure
/// classified into a <see cref="ModelCallException"/>. It does not retry: the SDK's own retries are off (see
/// ServiceCollectionExtensions) and each door, through <see cref="ModelCaller"/>, owns every retry decision. The
/// <c>x-ratelimit-*</c> headers of every answer and every error go to the <see cref="UpstreamPacer"/> (a stream's
/// headers only when it fails: the SDK's streaming result does not expose a successful stream's response).
/// </summary>
/// <param name="deployments">Model name → the deployment (Azure) or upstream id to ask for, where they differ.</param>
public sealed class OpenAIChatModel(OpenAIClient client, TimeProvider time, UpstreamPacer? pacer = null,
    IReadOnlyDictionary<string, string>? deployments = null) : IChatModel
{
    private readonly ConcurrentDictionary<string, ChatClient> chatClients = new(StringComparer.Ordinal);

    public async Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        ChatCompletion completion;
        try
        {
            var answer = await Chat(request).CompleteChatAsync(request.Messages.Select(ToSdkMessage), ToSdkOptions(request), cancellationToken);
            Observe(request.Model, answer.GetRawResponse());
            completion = answer.Value;
        }
        catch (Exception ex) when (Classify(ex, request.Model, cancellationToken) is { } failure)
        {
            throw failure;
        }

        var usage = completion.Usage;
        var toolCalls = completion.ToolCalls.Count == 0
            ? null
            : completion.ToolCalls.Select(call => new ToolCall(call.Id, call.FunctionName, call.FunctionArguments.ToString())).ToList();
        return new JobResult(
            string.Concat(completion.Content.Where(part => part.Kind == ChatMessageContentPartKind.Text).Select(part => part.Text)),
            Named(completion.Model, request),
            FinishReasonName(completion.FinishReason),
            new TokenUsage(usage?.InputTokenCount ?? 0, usage?.InputTokenDetails?.CachedTokenCount ?? 0, usage?.OutputTokenCount ?? 0),
            toolCalls);
    }

    /// <summary>
    /// Streams through the SDK's <c>CompleteChatStreamingAsync</c>, which always asks for the usage chunk
    /// (<c>stream_options.include_usage</c>), whatever the caller of this backend asked for.
    /// </summary>
    public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var updates = Chat(request).CompleteChatStreamingAsync(request.Messages.Select(ToSdkMessage), ToSdkOptions(request), cancellationToken);
        await using var enumerator = updates.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            StreamingChatCompletionUpdate update;
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    yield break;
                }
                update = enumerator.Current;
            }
            catch (Exception ex) when (Classify(ex, request.Model, cancellationToken) is { } failure)
            {
                throw failure;
            }
            var delta = ToDelta(update);
            yield return delta.Model is { } upstream && Named(upstream, request) != upstream ? delta with { Model = request.Model } : delta;
        }
    }

    private ChatClient Chat(ChatRequest request) => chatClients.GetOrAdd(request.Model, model => client.GetChatClient(Deployment(model)));

    private string Deployment(string model) => deployments?.GetValueOrDefault(model) ?? model;

    /// <summary>The answering model as the backend names it: a deployment's name echoed back is the model's own.</summary>
    private string Named(string? upstream, ChatRequest request) =>
        upstream is null || upstream == Deployment(request.Model) ? request.Model : upstream;

    private static ChatCompletionOptions ToSdkOptions(ChatRequest request)
    {
        var options = new ChatCompletionOptions
        {
            Temperature = (float?)request.Temperature,
            MaxOutputTokenCount = request.MaxTokens,
            TopP = (float?)request.TopP,
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; the API has long accepted it.
            Seed = request.Seed,
#pragma warning restore OPENAI001
            ResponseFormat = ToSdkFormat(request.ResponseFormat),
            ToolChoice = ToSdkToolChoice(request.ToolChoice),
            EndUserId = request.User,
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
        return options;
    }

    private static ChatDelta ToDelta(StreamingChatCompletionUpdate update)
    {
        var text = update.ContentUpdate.Count == 0
            ? null
            : string.Concat(update.ContentUpdate.Where(part => part.Kind == ChatMessageContentPartKind.Text).Select(part => part.Text));
        var usage = update.Usage is { } u
            ? new TokenUsage(u.InputTokenCount, u.InputTokenDetails?.CachedTokenCount ?? 0, u.OutputTokenCount)
            : null;
        var toolCalls = update.ToolCallUpdates.Count == 0
            ? null
            : update.ToolCallUpdates.Select(call => new ToolCallDelta(call.Index, call.ToolCallId, call.FunctionName,
                call.FunctionArgumentsUpdate?.ToString())).ToList();
        return new ChatDelta(string.IsNullOrEmpty(text) ? null : text, update.Model,
            update.FinishReason is { } reason ? FinishReasonName(reason) : null, usage, toolCalls);
    }

    /// <summary>Every way a call can fail, as a <see cref="ModelCallException"/>; null for the caller's own cancellation.</summary>
    private ModelCallException? Classify(Exception ex, string model, CancellationToken cancellationToken) => ex switch
    {
        ClientResultException result => Observe(model, result.GetRawResponse(), Classify(result, time.GetUtcNow())),
        OperationCanceledException when !cancellationToken.IsCancellationRequested =>
            new ModelCallException("upstream_timeout", "The model did not answer in time.", isTransient: true, inner: ex),
        HttpRequestException or IOException =>
            new ModelCallException("upstream_unreachable", "The connection to the model failed or broke off.", isTransient: true, inner: ex),
        // A 200 whose body is not a chat completion (a proxy's error page, a truncated body): worth another try.
        JsonException or FormatException =>
            new ModelCallException("upstream_malformed_response", "The model's answer could not be read.", isTransient: true, inner: ex),
        _ => null,
    };

    private T Observe<T>(string model, System.ClientModel.Primitives.PipelineResponse? response, T passThrough)
    {
        Observe(model, response);
        return passThrough;
    }

    private void Observe(string model, System.ClientModel.Primitives.PipelineResponse? response)
    {
        if (pacer is not null && response is not null)
        {
            pacer.Observe(model, ProviderLimits.Parse(name => response.Headers.TryGetValue(name, out var value) ? value : null));
        }
    }

    internal static ModelCallException Classify(ClientResultException ex, DateTimeOffset now)
    {
        var status = ex.Status;
        var upstreamCode = UpstreamErrorCode(ex);
        var detail = upstreamCode is null ? $"HTTP {status}" : $"HTTP {status}, {upstreamCode}";
        var response = ex.GetRawResponse();
        var retryAfter = response is null ? null : RetryHints.Parse(name => response.Headers.TryGetValue(name, out var value) ? value : null, now);
        return status switch
        {
            // A quota that ran out is a billing state, not a blip: retrying cannot fix it.
            429 when upstreamCode == "insufficient_quota" => new("insufficient_quota",
                $"The model provider's quota for this backend is exhausted ({detail}); an operator must add credit.", false, status, null, ex),
            429 => new("rate_limited", $"The model provider is rate limiting this backend ({detail}).", true, status, retryAfter, ex),
            // No status: the connection failed or broke off before a response arrived.
            0 => new("upstream_unreachable", "The connection to the model failed or broke off.", true, status, null, ex),
            408 or 500 or 502 or 503 or 504 => new("upstream_error",
                $"The model provider is temporarily unavailable ({detail}).", true, status, retryAfter, ex),
            400 or 422 => new("model_rejected_request", $"The model rejected the request ({detail}).", false, status, null, ex, upstreamCode),
            401 => new("model_unauthorized", $"The model provider rejected this backend's credentials ({detail}).", false, status, null, ex),
            403 => new("model_forbidden", $"The model provider refused access ({detail}).", false, status, null, ex),
            404 => new("model_not_found", $"The model or endpoint was not found ({detail}).", false, status, null, ex),
            _ => new("model_error", $"The model call failed ({detail}).", false, status, null, ex),
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
        ChatRoles.Assistant when message.ToolCalls is { Count: > 0 } calls => AssistantWithToolCalls(message.Content, calls),
        ChatRoles.Assistant => new AssistantChatMessage(message.Content),
        ChatRoles.Tool => new ToolChatMessage(message.ToolCallId, message.Content),
        _ => new UserChatMessage(message.Content),
    };

    private static AssistantChatMessage AssistantWithToolCalls(string content, IReadOnlyList<ToolCall> calls)
    {
        var message = new AssistantChatMessage(calls.Select(call =>
            ChatToolCall.CreateFunctionToolCall(call.Id, call.Name, BinaryData.FromString(call.Arguments))));
        if (content.Length > 0)
        {
            message.Content.Add(ChatMessageContentPart.CreateTextPart(content));
        }
        return message;
    }

    private static ChatToolChoice? ToSdkToolChoice(string? choice) => choice switch
    {
        null => null,
        ToolChoices.Auto => ChatToolChoice.CreateAutoChoice(),
        ToolChoices.None => ChatToolChoice.CreateNoneChoice(),
        ToolChoices.Required => ChatToolChoice.CreateRequiredChoice(),
        _ => ChatToolChoice.CreateFunctionChoice(choice),
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
