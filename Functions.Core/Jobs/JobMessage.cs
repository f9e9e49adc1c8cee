using System.Text.Json;

namespace Functions.Core.Jobs;

/// <summary>What travels on the queue: only the job id. The request itself lives in the job row.</summary>
public sealed record JobMessage(string JobId)
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
