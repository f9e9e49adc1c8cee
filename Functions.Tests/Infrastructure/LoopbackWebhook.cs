using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// A webhook receiver on 127.0.0.1 with a free port: every POST to any path is recorded, and answered with the
/// next scripted status (200 once the script runs out).
/// </summary>
public sealed class LoopbackWebhook : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedWebhook> received = new();
    private ScriptedLoopbackServer<int> server = null!;

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Every request, in arrival order, whatever it was answered.</summary>
    public IReadOnlyCollection<ReceivedWebhook> Received => received;

    public IEnumerable<ReceivedWebhook> Delivered(string path) => received.Where(hook => hook.Path == path && hook.Status is >= 200 and < 300);

    public Uri Url(string path) => new(BaseUrl, path);

    public static async Task<LoopbackWebhook> StartAsync()
    {
        var webhook = new LoopbackWebhook();
        webhook.server = await ScriptedLoopbackServer<int>.StartAsync(HttpMethods.Post, "/{**path}", webhook.HandleAsync);
        webhook.BaseUrl = webhook.server.Address;
        return webhook;
    }

    public void Enqueue(params int[] statuses) => server.Enqueue(statuses);

    private async Task HandleAsync(HttpContext context, ScriptedLoopbackServer<int> script)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var status = script.TryNext(out var scripted) ? scripted : StatusCodes.Status200OK;
        received.Enqueue(new ReceivedWebhook(context.Request.Path.Value ?? "", context.Request.ContentType, body, status));
        context.Response.StatusCode = status;
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();
}

public sealed record ReceivedWebhook(string Path, string? ContentType, string Body, int Status);
