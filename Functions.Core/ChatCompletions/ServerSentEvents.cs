using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Functions.Core.ChatCompletions;

/// <summary>
/// A <c>text/event-stream</c> response written as events arrive, each flushed at once. The response starts (status,
/// headers) with the first event or keep-alive, not before, so that until then the door can still answer with a
/// status code. While nothing else is sent, a <c>:</c> comment goes out every <c>keepAlive</c> so proxies and
/// browsers keep an idle connection open while the model thinks. One writer at a time: events and keep-alives never
/// interleave.
/// </summary>
public sealed class ServerSentEvents : IAsyncDisposable
{
    private static readonly byte[] KeepAliveComment = ": keep-alive\n\n"u8.ToArray();

    private readonly HttpResponse response;
    private readonly IReadOnlyDictionary<string, string> headers;
    private readonly SemaphoreSlim writing = new(1, 1);
    private readonly CancellationTokenSource stopping = new();
    private readonly Task keepAlive;
    private readonly TimeProvider time;
    private long lastWrite;

    public ServerSentEvents(HttpResponse response, IReadOnlyDictionary<string, string> headers, TimeSpan keepAliveInterval, TimeProvider time)
    {
        this.response = response;
        this.headers = headers;
        this.time = time;
        lastWrite = time.GetTimestamp();
        keepAlive = KeepAliveAsync(keepAliveInterval);
    }

    /// <summary>True once the status and headers are on the wire: from then on every failure must be an event.</summary>
    public bool Started { get; private set; }

    /// <summary>True once any data event was sent (not counting keep-alives).</summary>
    public bool SentData { get; private set; }

    public Task WriteDataAsync(object payload, CancellationToken cancellationToken) =>
        WriteAsync(Encoding.UTF8.GetBytes("data: " + JsonSerializer.Serialize(payload, ChatCompletionJson.Options) + "\n\n"), true,
            cancellationToken);

    public Task WriteDoneAsync(CancellationToken cancellationToken) => WriteAsync("data: [DONE]\n\n"u8.ToArray(), true, cancellationToken);

    private async Task WriteAsync(byte[] bytes, bool data, CancellationToken cancellationToken)
    {
        await writing.WaitAsync(cancellationToken);
        try
        {
            if (!Started)
            {
                Start();
            }
            await response.Body.WriteAsync(bytes, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
            SentData |= data;
            Interlocked.Exchange(ref lastWrite, time.GetTimestamp());
        }
        finally
        {
            writing.Release();
        }
    }

    private void Start()
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        // Tell reverse proxies (nginx, App Service's front ends) not to buffer the stream.
        response.Headers["X-Accel-Buffering"] = "no";
        foreach (var (name, value) in headers)
        {
            response.Headers[name] = value;
        }
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        Started = true;
    }

    private async Task KeepAliveAsync(TimeSpan interval)
    {
        if (interval <= TimeSpan.Zero)
        {
            return;
        }
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping.Token))
            {
                if (time.GetElapsedTime(Interlocked.Read(ref lastWrite)) >= interval)
                {
                    await WriteAsync(KeepAliveComment, false, stopping.Token);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Stopped, or the client went away: the main loop notices through its own token.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await keepAlive;
        stopping.Dispose();
        writing.Dispose();
    }
}
