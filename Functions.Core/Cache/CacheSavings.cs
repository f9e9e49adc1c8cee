using Azure.Data.Tables;
using Functions.Core.Jobs;

namespace Functions.Core.Cache;

/// <summary>Records what each answer served from the cache saved, for the spend reports to price.</summary>
public interface ICacheSavingsRecorder
{
    /// <param name="model">The model that produced the stored answer (as the upstream named it, like a job's result).</param>
    /// <param name="usage">The tokens the model call would have used: what this hit avoided.</param>
    Task RecordHitAsync(string caller, string model, TokenUsage usage, CancellationToken cancellationToken);
}

/// <summary>
/// One row per hit in the savings table, partitioned by UTC day (<c>yyyy-MM-dd</c>) so a day's savings are one
/// partition scan; row keys sort by time. Tokens are by class as a job's usage counts them: <c>InputTokens</c>
/// (including <c>CachedInputTokens</c>) and <c>OutputTokens</c>.
/// </summary>
public sealed class TableCacheSavingsRecorder(TableClient table, TimeProvider time) : ICacheSavingsRecorder
{
    public TableClient Client => table;

    public Task RecordHitAsync(string caller, string model, TokenUsage usage, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return table.AddEntityAsync(new TableEntity(now.ToString("yyyy-MM-dd"), $"{now:HHmmss.fffffff}-{Guid.NewGuid():N}")
        {
            ["Caller"] = caller,
            ["Model"] = model,
            ["InputTokens"] = usage.InputTokens,
            ["CachedInputTokens"] = usage.CachedInputTokens,
            ["OutputTokens"] = usage.OutputTokens,
            ["HitAt"] = now,
        }, cancellationToken);
    }
}
