using Azure;
using Azure.Data.Tables;
using Functions.Core.Spend;
using Functions.Core.Storage;

namespace Functions.Core.Alerts;

/// <summary>
/// Whether one alert went out. <see cref="State"/> goes Pending → Sent; while Pending, whoever holds the claim
/// (<see cref="ClaimedUntil"/> in the future) is the only one sending it. <see cref="SentChannels"/> records each
/// channel that took it, so a retry sends only to those that failed.
/// </summary>
public sealed record AlertState(
    string Partition,
    string RowKey,
    string State,
    DateTimeOffset ClaimedUntil,
    string SentChannels,
    int Attempts,
    string Message,
    ETag ETag = default)
{
    public const string Pending = "Pending";
    public const string Sent = "Sent";

    public bool HasSent(AlertChannel channel) => SentChannels.Split(',').Contains(channel.Name);
}

/// <summary>The alert partitions of the spend table: <c>alert-{window}</c> for budget thresholds, <c>alert-digest</c>.</summary>
public sealed class AlertStates(SpendTable table)
{
    public const string DigestPartition = "alert-digest";

    public static string Partition(BudgetWindow window) => "alert-" + window.Key;

    public async Task<IReadOnlyDictionary<string, AlertState>> GetPartitionAsync(string partition, CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, AlertState>(StringComparer.Ordinal);
        await foreach (var entity in table.Client.QueryAsync<TableEntity>($"PartitionKey eq '{partition}'", cancellationToken: cancellationToken))
        {
            states[entity.RowKey] = FromEntity(entity);
        }
        return states;
    }

    public async Task<AlertState?> GetAsync(string partition, string rowKey, CancellationToken cancellationToken)
    {
        var response = await table.Client.GetEntityIfExistsAsync<TableEntity>(partition, rowKey, cancellationToken: cancellationToken);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    /// <summary>Inserts a new alert; the insert is the lock. Null (409) when it exists: someone else is sending it.</summary>
    public async Task<AlertState?> TryAddAsync(AlertState state, CancellationToken cancellationToken)
    {
        try
        {
            var response = await table.Client.AddEntityAsync(ToEntity(state), cancellationToken);
            return state with { ETag = response.Headers.ETag ?? default };
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return null;
        }
    }

    /// <summary>Replaces the alert if nobody changed it since it was read; null (412) when somebody did.</summary>
    public async Task<AlertState?> TryReplaceAsync(AlertState state, CancellationToken cancellationToken)
    {
        try
        {
            var response = await table.Client.UpdateEntityAsync(ToEntity(state), state.ETag, TableUpdateMode.Replace, cancellationToken);
            return state with { ETag = response.Headers.ETag ?? default };
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return null;
        }
    }

    private static TableEntity ToEntity(AlertState state)
    {
        var entity = new TableEntity(state.Partition, state.RowKey)
        {
            ["State"] = state.State,
            ["ClaimedUntil"] = state.ClaimedUntil,
            ["SentChannels"] = state.SentChannels,
            ["Attempts"] = state.Attempts,
        };
        TextChunks.Write(entity, "Message", state.Message);
        return entity;
    }

    private static AlertState FromEntity(TableEntity entity) => new(
        entity.PartitionKey,
        entity.RowKey,
        entity.GetString("State"),
        entity.GetDateTimeOffset("ClaimedUntil") ?? default,
        entity.GetString("SentChannels") ?? "",
        entity.GetInt32("Attempts") ?? 0,
        TextChunks.Read(entity, "Message") ?? "",
        entity.ETag);
}
