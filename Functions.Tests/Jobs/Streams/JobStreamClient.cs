using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Jobs.Streams;

/// <summary>One event as a browser's EventSource dispatches it: its type, the id field it carried, its data, its retry.</summary>
public sealed record StreamEvent(string Event, string? Id, string Data, long? RetryMs)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;

    public string Text => Json.GetProperty("text").GetString()!;

    public long DeltaId => long.Parse(Id!, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Opens job streams on a test host and reads their events the way EventSource parses them.</summary>
public static class JobStreamClient
{
    public static async Task<HttpResponseMessage> OpenStreamAsync(this TestHost host, string url, string? caller = null,
        string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }
        return await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>The events of an open stream as they arrive (comments skipped), until the server closes it.</summary>
    public static async IAsyncEnumerable<StreamEvent> EventsAsync(this HttpResponseMessage response,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        string? type = null, id = null;
        long? retry = null;
        var data = new List<string>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    yield return new StreamEvent(type ?? "message", id, string.Join('\n', data), retry);
                }
                type = id = null;
                retry = null;
                data.Clear();
                continue;
            }
            if (line.StartsWith(':'))
            {
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "event": type = value; break;
                case "id": id = value; break;
                case "retry": retry = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "data": data.Add(value); break;
            }
        }
    }

    /// <summary>Every event until <c>done</c> or <c>failed</c> (inclusive); fails if that takes longer than the timeout.</summary>
    public static async Task<List<StreamEvent>> ReadToEndAsync(this HttpResponseMessage response, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var events = new List<StreamEvent>();
        await foreach (var message in response.EventsAsync(deadline.Token))
        {
            events.Add(message);
            if (message.Event is "done" or "failed")
            {
                break;
            }
        }
        return events;
    }

    public static IEnumerable<StreamEvent> Deltas(this IEnumerable<StreamEvent> events) => events.Where(e => e.Event == "delta");

    public static string Text(this IEnumerable<StreamEvent> events) => string.Concat(events.Deltas().Select(e => e.Text));

    /// <summary>The text after the last restart: what a client that clears on <c>restart</c> shows.</summary>
    public static string Shown(this IReadOnlyList<StreamEvent> events)
    {
        var lastRestart = events.Select((e, index) => (e, index)).LastOrDefault(pair => pair.e.Event == "restart").index;
        return events.Skip(events.Any(e => e.Event == "restart") ? lastRestart + 1 : 0).Text();
    }
}
