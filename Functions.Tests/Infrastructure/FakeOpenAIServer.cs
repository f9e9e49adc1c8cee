using System.Collections.Concurrent;
using System.Text.Json;
using Functions.Local.Development;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// An OpenAI-compatible chat completions server on loopback whose answers each test scripts: replies are served in
/// the order enqueued, and once the script runs out every call gets a default completion echoing the last message.
/// </summary>
public sealed class FakeOpenAIServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<FakeReply> script = new();
    private readonly ConcurrentQueue<RecordedCall> calls = new();

    private FakeOpenAIServer(WebApplication app) => this.app = app;

    /// <summary>The OpenAI-style base URL, ending in <c>/v1</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyCollection<RecordedCall> Calls => calls;

    /// <summary>When set, a call with any other key gets OpenAI's 401 <c>invalid_api_key</c>, whose message quotes that key.</summary>
    public string? AcceptedKey { get; set; }

    public static async Task<FakeOpenAIServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAIServer(app);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    public void Enqueue(params FakeReply[] replies)
    {
        foreach (var reply in replies)
        {
            script.Enqueue(reply);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        var root = body.RootElement;
        calls.Enqueue(new RecordedCall(context.Request.Headers.Authorization.ToString(), root.Clone()));

        var presented = context.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
        var reply = AcceptedKey is not null && presented != AcceptedKey ? FakeReply.InvalidApiKey(presented)
            : script.TryDequeue(out var scripted) ? scripted : DefaultReply(root);
        if (reply.Delay > TimeSpan.Zero)
        {
            await Task.Delay(reply.Delay, context.RequestAborted);
        }
        context.Response.StatusCode = reply.Status;
        foreach (var (name, value) in reply.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(reply.Body);
    }

    private static FakeReply DefaultReply(JsonElement request)
    {
        var last = request.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString() ?? "";
        return FakeReply.Completion("echo: " + last, model: request.GetProperty("model").GetString() ?? "fake");
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();
}

public sealed record RecordedCall(string Authorization, JsonElement Body);

public sealed record FakeReply(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null, TimeSpan Delay = default)
{
    public static FakeReply Completion(string content, int promptTokens = 11, int completionTokens = 7, int cachedTokens = 0,
        string model = "fake-model", string finishReason = "stop") =>
        new(200, JsonSerializer.Serialize(
            ChatCompletionJson.Create(content, model, promptTokens, completionTokens, cachedTokens, finishReason)));

    /// <summary>An OpenAI error body: <c>{"error":{"message","type","code"}}</c>.</summary>
    public static FakeReply Error(int status, string code, string type = "invalid_request_error",
        IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, JsonSerializer.Serialize(new { error = new { message = "Scripted failure " + code, type, code, param = (string?)null } }),
            headers);

    /// <summary>OpenAI's answer to a wrong key. It quotes the key (OpenAI masks its middle; quoting it whole is the harsher test).</summary>
    public static FakeReply InvalidApiKey(string presentedKey) =>
        new(401, JsonSerializer.Serialize(new
        {
            error = new
            {
                message = $"Incorrect API key provided: {presentedKey}. You can find your API key at https://platform.openai.com/account/api-keys.",
                type = "invalid_request_error", code = "invalid_api_key", param = (string?)null,
            },
        }));
}
