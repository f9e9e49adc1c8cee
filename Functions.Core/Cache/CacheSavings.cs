using Functions.Core.Jobs;

namespace Functions.Core.Cache;

/// <summary>Records what each answer served from the cache saved (Spend prices it: LedgerCacheSavingsRecorder).</summary>
public interface ICacheSavingsRecorder
{
    /// <param name="model">The model that produced the stored answer (as the upstream named it, like a job's result).</param>
    /// <param name="usage">The tokens the model call would have used: what this hit avoided.</param>
    Task RecordHitAsync(string caller, string model, TokenUsage usage, CancellationToken cancellationToken);
}
