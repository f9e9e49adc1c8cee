using System.Text.Json;

namespace Functions.Local.Development;

/// <summary>
/// A tiny OpenAI-compatible chat endpoint on loopback, used when no OpenAI key or endpoint is configured, so the whole
/// path (submit → queue → model → result) runs without a network. Its answers are canned, and say so. It can play
/// several endpoints at once (<c>/{endpoint}/v1</c>, see <see cref="EndpointUrl"/>), any of them scripted down (503),
/// so routes and fallback can be shown without a key.
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

    /// <summary>How long the offline model "thinks" between the words it streams, so a stream looks like one.</summary>
    public static readonly TimeSpan DefaultChunkDelay = TimeSpan.FromMilliseconds(40);

    /// <summary>The base URL under which the offline model plays endpoint <paramref name="name"/>.</summary>
    public Uri EndpointUrl(string name) => new(BaseUrl, $"/{Uri.EscapeDataString(name)}/v1");

    /// <param name="down">Endpoints (by name) that answer every call with 503, as an outage of that provider would.</param>
    public static async Task<OfflineModelServer> StartAsync(TimeSpan? chunkDelay = null, IReadOnlySet<string>? down = null)
    {
        var (app, address) = await LoopbackApp.StartAsync(app =>
        {
            app.MapPost("/v1/chat/completions", (HttpContext context) => AnswerAsync(context, null, chunkDelay));
            app.MapPost("/{endpoint}/v1/chat/completions", (HttpContext context, string endpoint) => down?.Contains(endpoint) == true
                ? Results.Json(new { error = new { message = $"[offline model] endpoint {endpoint} is scripted down", type = "server_error", code = "server_error" } },
                    statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context)
                : AnswerAsync(context, endpoint, chunkDelay));
        });
        return new OfflineModelServer(app, new Uri(address, "v1"));
    }

    private static async Task AnswerAsync(HttpContext context, string? endpoint, TimeSpan? chunkDelay)
    {
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var model = ChatCompletionJson.Model(body.RootElement);
            var lastUser = body.RootElement.GetProperty("messages").EnumerateArray()
                .Select(message => message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "")
                .LastOrDefault() ?? "";
            var who = endpoint is null ? "[offline model]" : $"[offline model as {endpoint}, {model}]";
            var answer = $"{who} No OpenAI key is configured, so this is a canned reply. You said: \"{Truncate(lastUser, 200)}\"";
            var promptTokens = ChatCompletionJson.PromptTokens(body.RootElement);
            var completionTokens = ChatCompletionJson.CompletionTokens(model, answer);
            if (ChatCompletionStream.IsRequested(body.RootElement))
            {
                await ChatCompletionStream.WriteAsync(context, body.RootElement, answer, model, promptTokens, completionTokens,
                    chunkDelay: chunkDelay ?? DefaultChunkDelay);
                return;
            }
            await Results.Json(ChatCompletionJson.Create(answer, model, promptTokens, completionTokens)).ExecuteAsync(context);
        }
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
