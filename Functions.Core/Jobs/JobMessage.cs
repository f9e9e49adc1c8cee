using System.Text.Json;

namespace Functions.Core.Jobs;

/// <summary>
/// What travels on the queue: the job id, and how many model calls the job had made when it was (re)queued, for the
/// logs. The request itself and the authoritative counts live in the job row.
/// </summary>
public sealed record JobMessage(string JobId, int Attempt = 0)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

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
