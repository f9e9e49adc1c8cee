using System.Text.Json;
using System.Text.RegularExpressions;

namespace Functions.Local.Development;

/// <summary>
/// Writes an answer as OpenAI's streaming wire format (<c>text/event-stream</c> of <c>chat.completion.chunk</c>
/// events, then <c>data: [DONE]</c>), a word at a time with <paramref name="chunkDelay"/> between, for the offline
/// model and the tests' fake. The usage chunk comes when the request asked for it (<c>stream_options.include_usage</c>),
/// as OpenAI does. <paramref name="cutAfterChunks"/> drops the connection after that many content chunks;
/// <paramref name="sent"/> hears of each content chunk (its index) as it is flushed, for a benchmark's clock.
/// </summary>
public static partial class ChatCompletionStream
{
    public static bool IsRequested(JsonElement request) =>
        request.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;

    public static bool IncludesUsage(JsonElement request) =>
        request.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object
        && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;

    /// <summary>The answer cut into the pieces it streams as: each word with the space before it (the last with what follows it too).</summary>
    public static IReadOnlyList<string> Pieces(string content) =>
        Words().Matches(content).Select(match => match.Value).ToList() is { Count: > 0 } pieces ? pieces : [content];

    public static async Task WriteAsync(HttpContext context, JsonElement request, string content, string model,
        int promptTokens, int completionTokens, int cachedTokens = 0, string finishReason = "stop",
        TimeSpan chunkDelay = default, int? cutAfterChunks = null, Action<int>? sent = null)
    {
        var response = context.Response;
        var cancellationToken = context.RequestAborted;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        await SendAsync(Chunk(id, created, model, new { role = "assistant", content = "" }, null));
        var count = 0;
        foreach (var piece in Pieces(content))
        {
            if (cutAfterChunks is { } cut && count == cut)
            {
                await response.Body.FlushAsync(cancellationToken);
                // A reset discards what the peer has not read yet: give it the chunks first, as a real mid-stream break does.
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
                context.Abort();
                return;
            }
            if (chunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(chunkDelay, cancellationToken);
            }
            await SendAsync(Chunk(id, created, model, new { content = piece }, null));
            sent?.Invoke(count);
            count++;
        }
        await SendAsync(Chunk(id, created, model, new { }, finishReason));
        if (IncludesUsage(request))
        {
            await SendAsync(new
            {
                id, @object = "chat.completion.chunk", created, model, choices = Array.Empty<object>(),
                usage = ChatCompletionJson.Usage(promptTokens, completionTokens, cachedTokens),
            });
        }
        await response.WriteAsync("data: [DONE]\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);

        async Task SendAsync(object chunk)
        {
            await response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
    }

    private static object Chunk(string id, long created, string model, object delta, string? finishReason) => new
    {
        id, @object = "chat.completion.chunk", created, model,
        choices = new[] { new { index = 0, delta, finish_reason = finishReason } },
    };

    [GeneratedRegex(@"\s*\S+(\s+$)?")]
    private static partial Regex Words();
}
