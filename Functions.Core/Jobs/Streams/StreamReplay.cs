using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Functions.Core.Completions;
using Functions.Core.Http;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// What one connection to a job's stream sends, from the log as it is read and, at the end, the finished job: every
/// delta after the client's <c>Last-Event-ID</c> with its id, each restart marker placed after it, then <c>done</c> or
/// <c>failed</c>. The same log and job always give the same ids, so a client that reconnects (from any instance) gets
/// exactly what it missed. The job's result is the truth: what the log of the last attempt lacks (a write that never
/// happened, a cached answer, rows past their retention) is sent as further deltas, behind a restart when the log's
/// text is not the start of the answer.
/// </summary>
public sealed class StreamReplay(long? lastEventId)
{
    public const string DeltaEvent = "delta";
    public const string RestartEvent = "restart";
    public const string StatusEvent = "status";
    public const string DoneEvent = "done";
    public const string FailedEvent = "failed";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        // The text goes to a script through EventSource, never into HTML: escaping non-ASCII would only make it longer.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly long after = lastEventId ?? 0;
    private readonly StringBuilder attemptText = new();
    private long lastId;

    /// <summary>The row key of the last row followed: the next read asks for the rows above it.</summary>
    public string LastRowKey { get; private set; } = "";

    public IEnumerable<ServerSentEvent> Follow(IEnumerable<(string RowKey, StreamEntry Entry)> rows)
    {
        foreach (var (rowKey, entry) in rows)
        {
            LastRowKey = rowKey;
            if (entry.RestartAttempt is { } attempt)
            {
                attemptText.Clear();
                // At After == the client's last id it may or may not have seen the marker; a second one costs nothing.
                if (entry.After >= after)
                {
                    yield return Restart(attempt);
                }
                continue;
            }
            var id = entry.After;
            foreach (var text in entry.Deltas)
            {
                id++;
                attemptText.Append(text);
                if (id > after)
                {
                    yield return Delta(id, text);
                }
            }
            lastId = Math.Max(lastId, entry.Last);
        }
    }

    /// <param name="view">The finished job as <c>GET /api/chat/{id}</c> shows it, serialized as GET does.</param>
    public IEnumerable<ServerSentEvent> Finish(Job job, string view)
    {
        if (job is { Status: JobStatus.Succeeded, Result: { } result })
        {
            var streamed = attemptText.ToString();
            var rest = result.Content;
            if (rest.StartsWith(streamed, StringComparison.Ordinal))
            {
                rest = rest[streamed.Length..];
            }
            else if (lastId >= after)
            {
                yield return Restart(job.ModelCalls);
            }
            foreach (var piece in AnswerPieces.Of(rest))
            {
                if (++lastId > after)
                {
                    yield return Delta(lastId, piece);
                }
            }
            yield return new ServerSentEvent(view, DoneEvent);
        }
        else
        {
            yield return new ServerSentEvent(view, FailedEvent);
        }
    }

    private static ServerSentEvent Delta(long id, string text) =>
        new(JsonSerializer.Serialize(new { text }, Json), DeltaEvent, id.ToString(CultureInfo.InvariantCulture));

    private static ServerSentEvent Restart(int attempt) => new(JsonSerializer.Serialize(new { attempt }, Json), RestartEvent);

    /// <summary>A <c>Last-Event-ID</c> (or <c>lastEventId</c> query value) as a delta id; anything malformed counts as none.</summary>
    public static long? ParseLastEventId(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
}
