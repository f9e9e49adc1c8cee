using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Functions.Core.Jobs;

/// <summary>
/// What travels on the queue: the job id, and how many model calls the job had made when it was (re)queued, for the
/// logs. The request itself and the authoritative counts live in the job row. <see cref="TraceParent"/> and
/// <see cref="TraceState"/> carry the sender's W3C trace context, and <see cref="VisibleAt"/> when the message could
/// first be received, so the worker's span continues the submit's trace and measures the wait. Messages sent before
/// these existed have none of them and are read as before.
/// </summary>
public sealed record JobMessage(
    string JobId,
    int Attempt = 0,
    string? TraceParent = null,
    string? TraceState = null,
    DateTimeOffset? VisibleAt = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A message for <paramref name="jobId"/> in the current trace (if any), visible from <paramref name="visibleAt"/>.</summary>
    public static JobMessage InCurrentTrace(string jobId, int attempt, DateTimeOffset visibleAt)
    {
        var current = Activity.Current;
        return current is { IdFormat: ActivityIdFormat.W3C }
            ? new JobMessage(jobId, attempt, current.Id, current.TraceStateString, visibleAt)
            : new JobMessage(jobId, attempt, VisibleAt: visibleAt);
    }

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    public static JobMessage? TryParse(string text)
    {
        try
        {
            var message = JsonSerializer.Deserialize<JobMessage>(text, Json);
            return JobIds.IsWellFormed(message?.JobId) ? message : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
