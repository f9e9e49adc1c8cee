using System.Text.Json;

namespace Functions.Local.Development;

/// <summary>
/// A tiny OpenAI-compatible chat endpoint on loopback, used when no OpenAI key or endpoint is configured, so the whole
/// path (submit → queue → model → result) runs without a network. Its answers are canned, and say so.
/// </summary>
public sealed class OfflineModelServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private OfflineModelServer(WebApplication app, Uri baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The OpenAI-style base URL, ending in <c>/v1</c>.</summary>
    public Uri BaseUrl { get; }

    public static async Task<OfflineModelServer> StartAsync()
    {
        var (app, address) = await LoopbackApp.StartAsync(app => app.MapPost("/v1/chat/completions", async (HttpRequest request) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            var model = ChatCompletionJson.Model(body.RootElement);
            var lastUser = body.RootElement.GetProperty("messages").EnumerateArray()
                .Select(message => message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "")
                .LastOrDefault() ?? "";
            var answer = $"[offline model] No OpenAI key is configured, so this is a canned reply. You said: \"{Truncate(lastUser, 200)}\"";
            return Results.Json(ChatCompletionJson.Create(answer, model,
                ChatCompletionJson.PromptTokens(body.RootElement), ChatCompletionJson.CompletionTokens(model, answer)));
        }));
        return new OfflineModelServer(app, new Uri(address, "v1"));
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
