using System.Text.Json;
using System.Text.Json.Serialization;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;

namespace Functions.Core.ChatCompletions;

/// <summary>The response bodies of OpenAI's Chat Completions API: <c>chat.completion</c> and <c>chat.completion.chunk</c>.</summary>
public static class ChatCompletionJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <param name="costUsd">What producing the answer cost; goes out as <c>usage.cost_usd</c> (gateways such as OpenRouter
    /// add their cost to usage the same way), so an SPA can show it without a price list of its own.</param>
    /// <param name="conversation">A conversation turn's history, added as the extra field <c>conversation</c> (SDKs keep unknown fields).</param>
    public static object Completion(string id, long created, JobResult result, decimal costUsd, Conversations.ConversationTurn? conversation = null)
    {
        var completion = Body(id, created, result, costUsd);
        if (conversation is null && !result.Stale)
        {
            return completion;
        }
        var node = JsonSerializer.SerializeToNode(completion, Options)!.AsObject();
        if (result.Stale)
        {
            node["stale"] = true; // an expired answer served because every candidate failed (stale-if-error)
        }
        if (conversation is not null)
        {
            node["conversation"] = JsonSerializer.SerializeToNode(new
            {
                id = conversation.ConversationId,
                history_tokens = conversation.HistoryTokens,
                history_messages = conversation.HistoryMessages,
                summary_used = conversation.SummaryUsed,
                trimmed_messages = conversation.TrimmedMessages,
            }, Options);
        }
        return node;
    }

    private static object Body(string id, long created, JobResult result, decimal costUsd) => new
    {
        id,
        @object = "chat.completion",
        created,
        model = result.Model,
        choices = new[]
        {
            new
            {
                index = 0,
                message = new
                {
                    role = ChatRoles.Assistant,
                    content = result.ToolCalls is { Count: > 0 } && result.Content.Length == 0 ? null : result.Content,
                    tool_calls = result.ToolCalls?.Select(ToolCallJson).ToArray(),
                    refusal = (string?)null,
                },
                finish_reason = result.FinishReason,
                logprobs = (object?)null,
            },
        },
        usage = Usage(result.Usage, costUsd),
    };

    /// <summary>One streamed update as a chunk of the single choice; the delta holds only what this update carries, as OpenAI's do.</summary>
    public static object Chunk(string id, long created, string model, ChatDelta delta, bool first)
    {
        var body = new Dictionary<string, object?>();
        if (first)
        {
            body["role"] = ChatRoles.Assistant;
        }
        if (delta.Content is not null || first)
        {
            body["content"] = delta.Content ?? "";
        }
        if (delta.ToolCalls is { } calls)
        {
            body["tool_calls"] = calls.Select(call => new Dictionary<string, object?>
            {
                ["index"] = call.Index,
                ["id"] = call.Id,
                ["type"] = call.Id is null ? null : "function",
                ["function"] = new Dictionary<string, string?> { ["name"] = call.Name, ["arguments"] = call.Arguments ?? "" },
            }.Where(pair => pair.Value is not null).ToDictionary()).ToArray();
        }
        return new
        {
            id,
            @object = "chat.completion.chunk",
            created,
            model = delta.Model ?? model,
            choices = new[] { new { index = 0, delta = body, finish_reason = delta.FinishReason, logprobs = (object?)null } },
        };
    }

    /// <summary>The last chunk when the client asked for <c>stream_options.include_usage</c>: no choices, the usage.</summary>
    public static object UsageChunk(string id, long created, string model, TokenUsage usage, decimal costUsd) => new
    {
        id,
        @object = "chat.completion.chunk",
        created,
        model,
        choices = Array.Empty<object>(),
        usage = Usage(usage, costUsd),
    };

    private static object Usage(TokenUsage usage, decimal costUsd) => new
    {
        prompt_tokens = usage.InputTokens,
        completion_tokens = usage.OutputTokens,
        total_tokens = usage.InputTokens + usage.OutputTokens,
        prompt_tokens_details = new { cached_tokens = usage.CachedInputTokens },
        cost_usd = costUsd,
    };

    private static object ToolCallJson(ToolCall call) =>
        new { id = call.Id, type = "function", function = new { name = call.Name, arguments = call.Arguments } };
}
