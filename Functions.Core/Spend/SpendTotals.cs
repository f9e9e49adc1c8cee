namespace Functions.Core.Spend;

/// <summary>
/// Sums of ledger entries: model calls with their tokens and cost, and cache hits with the spend they saved. Summary calls
/// (conversations' running summaries) are calls like the others, in every sum, and also counted apart in
/// <see cref="SummaryCalls"/> and <see cref="SummaryCostMicros"/>.
/// </summary>
public sealed record SpendTotals(
    long Calls,
    long InputTokens,
    long CachedInputTokens,
    long OutputTokens,
    long CostMicros,
    long CacheHits,
    long SavedMicros,
    long SummaryCalls = 0,
    long SummaryCostMicros = 0)
{
    public static SpendTotals Zero { get; } = new(0, 0, 0, 0, 0, 0, 0);

    public decimal CostUsd => Money.Usd(CostMicros);

    public decimal SavedUsd => Money.Usd(SavedMicros);

    public SpendTotals Add(LedgerEntry entry) => entry.Kind == LedgerEntry.Saving
        ? this with { CacheHits = CacheHits + 1, SavedMicros = SavedMicros + entry.CostMicros }
        : this with
        {
            Calls = Calls + 1,
            InputTokens = InputTokens + entry.Usage.InputTokens,
            CachedInputTokens = CachedInputTokens + entry.Usage.CachedInputTokens,
            OutputTokens = OutputTokens + entry.Usage.OutputTokens,
            CostMicros = CostMicros + entry.CostMicros,
            SummaryCalls = SummaryCalls + (entry.Kind == LedgerEntry.Summary ? 1 : 0),
            SummaryCostMicros = SummaryCostMicros + (entry.Kind == LedgerEntry.Summary ? entry.CostMicros : 0),
        };

    public SpendTotals Add(SpendTotals other) => new(
        Calls + other.Calls,
        InputTokens + other.InputTokens,
        CachedInputTokens + other.CachedInputTokens,
        OutputTokens + other.OutputTokens,
        CostMicros + other.CostMicros,
        CacheHits + other.CacheHits,
        SavedMicros + other.SavedMicros,
        SummaryCalls + other.SummaryCalls,
        SummaryCostMicros + other.SummaryCostMicros);
}
