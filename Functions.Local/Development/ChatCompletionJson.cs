namespace Functions.Local.Development;

/// <summary>The body of an OpenAI <c>chat.completion</c> response, as the official SDK parses it.</summary>
public static class ChatCompletionJson
{
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

    /// <summary>A rough token count (four characters a token), enough for an offline or fake model's usage figures.</summary>
    public static int EstimateTokens(string text) => Math.Max(1, (text.Length + 3) / 4);
}
