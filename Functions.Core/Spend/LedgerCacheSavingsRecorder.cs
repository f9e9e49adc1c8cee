using Functions.Core.Cache;
using Functions.Core.Jobs;

namespace Functions.Core.Spend;

/// <summary>
/// Prices every answer served from the cache and records it in the spend ledger as a saving, beside the calls it
/// avoided, so the roll-up, the report and the daily digest count savings from the same rows as spend.
/// </summary>
public sealed class LedgerCacheSavingsRecorder(SpendLedger ledger) : ICacheSavingsRecorder
{
    public Task RecordHitAsync(string caller, string model, TokenUsage usage, CancellationToken cancellationToken) =>
        ledger.RecordSavingAsync(caller, model, usage, savingId: Guid.NewGuid().ToString("N"), cancellationToken);
}
