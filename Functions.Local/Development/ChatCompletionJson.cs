using System.Text.Json;
using Functions.Core.Tokens;

namespace Functions.Local.Development;

/// <summary>The body of an OpenAI <c>chat.completion</c> response, as the official SDK parses it, with realistic usage.</summary>
public static class ChatCompletionJson
{
    /// <summary>The chat format's tokens around each message and the reply's priming, as OpenAI bills them.</summary>
    private const int TokensPerMessage = 3;
    private const int ReplyPrimingTokens = 3;

    private static readonly TokenCounter Tokens = new();

    public static object Create(string content, string model, int promptTokens, int completionTokens,
        int cachedTokens = 0, string finishReason = "stop") => new
    {
        id = "chatcmpl-" + Guid.NewGuid().ToString("N"),
        @object = "chat.completion",
        created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        model,
        choices = new[]
        {
            new { index = 0, message = new { role = "assistant", content }, finish_reason = finishReason },
        },
        usage = Usage(promptTokens, completionTokens, cachedTokens),
    };

    public static object Usage(int promptTokens, int completionTokens, int cachedTokens = 0) => new
    {
        prompt_tokens = promptTokens,
        completion_tokens = completionTokens,
        total_tokens = promptTokens + completionTokens,
        prompt_tokens_details = new { cached_tokens = cachedTokens },
    };

    /// <summary>
    /// The prompt tokens OpenAI would bill for a chat completions request body: each message's role and text content
    /// in the model's encoding, plus the chat format's 3 tokens a message and 3 for the reply's priming.
    /// </summary>
    public static int PromptTokens(JsonElement request)
    {
        var model = Model(request);
        var tokens = ReplyPrimingTokens;
        foreach (var message in request.GetProperty("messages").EnumerateArray())
        {
            tokens += TokensPerMessage + Tokens.CountText(model, Text(message, "role")) + Tokens.CountText(model, Text(message, "content"));
        }
        return tokens;
    }

    /// <summary>The tokens of an answer, at least one.</summary>
    public static int CompletionTokens(string model, string text) => Math.Max(1, Tokens.CountText(model, text));

    public static string Model(JsonElement request) =>
        request.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString()! : "offline";

    private static string Text(JsonElement message, string property) =>
        message.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
}
