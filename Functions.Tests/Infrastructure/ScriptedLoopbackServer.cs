using System.Collections.Concurrent;
using Functions.Local.Development;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// The one loopback server behind every fake a test scripts (the OpenAI-compatible model, the webhook receiver): a
/// Kestrel app on a free 127.0.0.1 port that answers each request on <paramref name="pattern"/> with the next scripted
/// reply, or as the fake decides once the script runs out; the fakes record what they received.
/// </summary>
/// <typeparam name="TReply">What a test scripts: a model reply, a webhook status.</typeparam>
public sealed class ScriptedLoopbackServer<TReply> : IAsyncDisposable
{
    private readonly ConcurrentQueue<TReply> script = new();
    private WebApplication app = null!;

    private ScriptedLoopbackServer()
    {
    }

    /// <summary>The server's base address, ending in '/'.</summary>
    public Uri Address { get; private set; } = null!;

    /// <param name="handle">Answers one request; it takes the next scripted reply with <see cref="TryNext"/>.</param>
    public static async Task<ScriptedLoopbackServer<TReply>> StartAsync(string method, string pattern,
        Func<HttpContext, ScriptedLoopbackServer<TReply>, Task> handle)
    {
        var server = new ScriptedLoopbackServer<TReply>();
        (server.app, server.Address) = await LoopbackApp.StartAsync(app =>
            app.MapMethods(pattern, [method], (HttpContext context) => handle(context, server)));
        return server;
    }

    public void Enqueue(params TReply[] replies)
    {
        foreach (var reply in replies)
        {
            script.Enqueue(reply);
        }
    }

    /// <returns>False once the script is used up.</returns>
    public bool TryNext(out TReply reply) => script.TryDequeue(out reply!);

    public ValueTask DisposeAsync() => app.DisposeAsync();
}
