using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Functions.Core.Http;

/// <summary>
/// One event of a <c>text/event-stream</c>: its <see cref="Data"/>, and optionally the <c>event:</c> name a browser's
/// <c>EventSource</c> dispatches it under, the <c>id:</c> it sends back as <c>Last-Event-ID</c> when it reconnects, and
/// the <c>retry:</c> reconnection delay.
/// </summary>
public sealed record ServerSentEvent(string Data, string? Event = null, string? Id = null, TimeSpan? Retry = null)
{
    /// <summary>The event's wire form (WHATWG HTML, "server-sent events"): a field a line, a blank line after.</summary>
    public byte[] ToBytes()
    {
        var text = new StringBuilder();
        if (Event is not null)
        {
            text.Append("event: ").Append(Event).Append('\n');
        }
        if (Id is not null)
        {
            text.Append("id: ").Append(Id).Append('\n');
        }
        if (Retry is { } retry)
        {
            text.Append("retry: ").Append(((long)retry.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        // A line break inside the data would end the field: each line is a data field of its own, which the client joins.
        foreach (var line in Data.ReplaceLineEndings("\n").Split('\n'))
        {
            text.Append("data: ").Append(line).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.Append('\n').ToString());
    }
}

/// <summary>
/// A <c>text/event-stream</c> response written as events arrive, each flushed at once. The response starts (status,
/// headers) with the first event or keep-alive, not before, so that until then the door can still answer with a
/// status code. While nothing else is sent, a <c>:</c> comment goes out every <c>keepAlive</c> so proxies and
/// browsers keep an idle connection open while the model thinks. One writer at a time: events and keep-alives never
/// interleave. Both doors use it: the interactive one for OpenAI's chunks, job streams for their named events.
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

    public Task WriteAsync(ServerSentEvent message, CancellationToken cancellationToken) =>
        WriteAsync(message.ToBytes(), cancellationToken);

    private async Task WriteAsync(byte[] bytes, CancellationToken cancellationToken)
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
                    await WriteAsync(KeepAliveComment, stopping.Token);
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
