using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.ChatCompletions;

/// <summary>Calls to <c>POST /api/v1/chat/completions</c> of a test host, and the events of a streamed answer.</summary>
public static class ChatCompletionsClient
{
    public const string CompletionsPath = "/api/v1/chat/completions";

    public static HttpRequestMessage Request(object body, string? caller = null, string? cacheControl = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, CompletionsPath)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        if (cacheControl is not null)
        {
            request.Headers.CacheControl = CacheControlHeaderValue.Parse(cacheControl);
        }
        return request;
    }

    public static Task<HttpResponseMessage> CompleteAsync(this TestHost host, object body, string? caller = null, string? cacheControl = null) =>
        host.Client.SendAsync(Request(body, caller, cacheControl));

    public static object User(string content, bool stream = false, bool includeUsage = false, double? temperature = null) =>
        stream
            ? new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content } }, stream, stream_options = new { include_usage = includeUsage }, temperature }
            : new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content } }, stream, stream_options = (object?)null, temperature };

    /// <summary>The data of every event of an SSE body, in order (comments and blank lines left out).</summary>
    public static IReadOnlyList<string> Events(string body) =>
        body.Split('\n').Where(line => line.StartsWith("data: ", StringComparison.Ordinal)).Select(line => line["data: ".Length..]).ToList();

    /// <summary>The text the content deltas of a streamed body add up to.</summary>
    public static string StreamedText(string body) => string.Concat(Events(body).Where(data => data != "[DONE]")
        .Select(data => JsonDocument.Parse(data).RootElement)
        .Where(chunk => chunk.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0)
        .Select(chunk => chunk.GetProperty("choices")[0].GetProperty("delta"))
        .Select(delta => delta.TryGetProperty("content", out var content) ? content.GetString() : ""));
}
