using Azure;
using Azure.Data.Tables;

namespace Functions.Core.Resilience;

/// <summary>
/// One "not before" time per endpoint and deployment (<paramref name="key"/>, see <see cref="Routing.ModelCatalog"/>)
/// shared by every worker instance through Table Storage: a 429's retry hint or an open circuit closes that gate, and
/// every instance holds its calls to that model until it reopens (or falls back). Closing only ever extends it.
/// </summary>
public sealed class UpstreamGate(TableClient table, TimeProvider time)
{
    private const string PartitionKey = "gate";
    /// <summary>The key of a gate not named: what the single gate was called before there was one per model.</summary>
    public const string DefaultKey = "upstream";
    private const int MaxRounds = 64;

    /// <summary>What this instance last read or wrote, and when (replaced whole, so readers never see half of one).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Seen> lastSeen = new(StringComparer.Ordinal);

    private static readonly Seen Never = new(DateTimeOffset.MinValue, "", DateTimeOffset.MinValue);

    private sealed record Seen(DateTimeOffset Until, string Reason, DateTimeOffset ReadAt);

    public TableClient Client => table;

    /// <param name="maxStaleness">
    /// How old this instance's last look at the gate may be and still answer without a storage round trip. The queue
    /// worker passes zero (it reads every time); the interactive door accepts a second, so a burst of requests costs one
    /// read a second, and another instance's 429 reaches it at most that much later.
    /// </param>
    /// <returns>When the gate reopens and why, or null when calls may go ahead now.</returns>
    public Task<(DateTimeOffset Until, string Reason)?> ClosedUntilAsync(CancellationToken cancellationToken,
        TimeSpan maxStaleness = default) => ClosedUntilAsync(DefaultKey, cancellationToken, maxStaleness);

    public async Task<(DateTimeOffset Until, string Reason)?> ClosedUntilAsync(string key, CancellationToken cancellationToken,
        TimeSpan maxStaleness = default)
    {
        var now = time.GetUtcNow();
        var seen = lastSeen.GetValueOrDefault(key, Never);
        if (maxStaleness <= TimeSpan.Zero || now - seen.ReadAt > maxStaleness)
        {
            var gate = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, key, cancellationToken: cancellationToken);
            seen = gate.HasValue && gate.Value!.GetDateTimeOffset("NotBefore") is { } notBefore
                ? new Seen(notBefore, gate.Value.GetString("Reason") ?? "", now)
                : new Seen(DateTimeOffset.MinValue, "", now);
            lastSeen[key] = seen;
        }
        return seen.Until > now ? (seen.Until, seen.Reason) : null;
    }

    public Task CloseUntilAsync(DateTimeOffset until, string reason, CancellationToken cancellationToken) =>
        CloseUntilAsync(DefaultKey, until, reason, cancellationToken);

    public async Task CloseUntilAsync(string key, DateTimeOffset until, string reason, CancellationToken cancellationToken)
    {
        // Optimistic concurrency: re-read and retry when another instance moved the gate first; never shorten it.
        // Every round one contender wins, so the rounds must exceed the instances that may close it at once.
        for (var attempt = 0; attempt < MaxRounds; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, key, cancellationToken: cancellationToken);
            if (current.HasValue && current.Value!.GetDateTimeOffset("NotBefore") >= until)
            {
                return;
            }
            var entity = new TableEntity(PartitionKey, key) { ["NotBefore"] = until, ["Reason"] = reason };
            try
            {
                if (current.HasValue)
                {
                    await table.UpdateEntityAsync(entity, current.Value!.ETag, TableUpdateMode.Replace, cancellationToken);
                }
                else
                {
                    await table.AddEntityAsync(entity, cancellationToken);
                }
                lastSeen[key] = new Seen(until, reason, time.GetUtcNow());
                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Lost the race; look again.
            }
        }
    }
}
