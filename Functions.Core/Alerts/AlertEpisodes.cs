using Azure;
using Azure.Data.Tables;
using Functions.Core.Spend;

namespace Functions.Core.Alerts;

/// <summary>One run of trouble: from when a condition was first seen firing to when it was first seen clear.</summary>
public sealed record AlertEpisode(string Kind, DateTimeOffset OpenedAt, DateTimeOffset? ClosedAt, ETag ETag = default)
{
    public bool IsOpen => ClosedAt is null;

    /// <summary>Names the episode's alerts: the same episode always has the same ids, whoever sends them.</summary>
    public string Key => $"{Kind}|{OpenedAt.UtcDateTime:yyyyMMddTHHmmssZ}";
}

/// <summary>
/// The current (or last) episode of each operational alert, one row per kind in the spend table's
/// <c>alert-episodes</c> partition. Opening and closing are ETag-guarded, so of two runs that see the same change
/// one makes it and the other reads the winner's episode: an episode starts and ends once.
/// </summary>
public sealed class AlertEpisodes(SpendTable table)
{
    private const string Partition = "alert-episodes";

    public async Task<AlertEpisode?> GetAsync(string kind, CancellationToken cancellationToken)
    {
        var row = await table.Client.GetEntityIfExistsAsync<TableEntity>(Partition, kind, cancellationToken: cancellationToken);
        return row.HasValue
            ? new AlertEpisode(kind, row.Value!.GetDateTimeOffset("OpenedAt") ?? default, row.Value.GetDateTimeOffset("ClosedAt"), row.Value.ETag)
            : null;
    }

    /// <summary>Starts a new episode in place of <paramref name="last"/> (null: the first); null when another run changed it first.</summary>
    public Task<AlertEpisode?> TryOpenAsync(string kind, AlertEpisode? last, DateTimeOffset at, CancellationToken cancellationToken) =>
        TryWriteAsync(new AlertEpisode(kind, at, null, last?.ETag ?? default), last is null, cancellationToken);

    /// <summary>Ends <paramref name="open"/>; null when another run changed it first.</summary>
    public Task<AlertEpisode?> TryCloseAsync(AlertEpisode open, DateTimeOffset at, CancellationToken cancellationToken) =>
        TryWriteAsync(open with { ClosedAt = at }, insert: false, cancellationToken);

    private async Task<AlertEpisode?> TryWriteAsync(AlertEpisode episode, bool insert, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(Partition, episode.Kind) { ["OpenedAt"] = episode.OpenedAt, ["ClosedAt"] = episode.ClosedAt };
        try
        {
            var response = insert
                ? await table.Client.AddEntityAsync(entity, cancellationToken)
                : await table.Client.UpdateEntityAsync(entity, episode.ETag, TableUpdateMode.Replace, cancellationToken);
            return episode with { ETag = response.Headers.ETag ?? default };
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return null;
        }
    }
}
