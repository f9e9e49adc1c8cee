using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Functions.Core.Spend;

/// <summary>
/// The reservation rows this instance wrote, with their ETags, so settling or releasing a reservation made here (every
/// interactive call, and a queued job picked up where it was submitted) writes on top of them instead of reading them
/// first. A row another writer has moved since fails the write's ETag check and is read afresh, so a receipt can cost a
/// retry but never a wrong settlement. A receipt is <see cref="BudgetReceipt.Complete"/> once every window of the
/// reservation was written: only then does a window without a row mean there is none to read.
/// </summary>
public sealed class BudgetReceipts
{
    private const int MaxReceipts = 10_000;

    private readonly ConcurrentDictionary<string, BudgetReceipt> receipts = new(StringComparer.Ordinal);

    public BudgetReceipt? Get(string reservationId) => receipts.GetValueOrDefault(reservationId);

    /// <summary>Remembers a row as just written.</summary>
    public void Put(BudgetWindow window, BudgetReservation written)
    {
        if (receipts.Count >= MaxReceipts)
        {
            receipts.Clear(); // later settlements read their rows: a bound, not a policy
        }
        receipts.AddOrUpdate(written.JobId, _ => new BudgetReceipt(ImmutableDictionary<string, BudgetReservation>.Empty.Add(window.Key, written), false),
            (_, known) => known with { Rows = known.Rows.SetItem(window.Key, written) });
    }

    /// <summary>Every window of the reservation is written (or none needed it).</summary>
    public void Complete(string reservationId)
    {
        receipts.AddOrUpdate(reservationId, _ => new BudgetReceipt(ImmutableDictionary<string, BudgetReservation>.Empty, true),
            (_, known) => known with { Complete = true });
    }

    /// <summary>After a write whose outcome is unknown (storage failed): read the rows again from now on.</summary>
    public void Forget(string reservationId) => receipts.TryRemove(reservationId, out _);
}

/// <summary>A reservation's rows as this instance last wrote them, by window key.</summary>
public sealed record BudgetReceipt(ImmutableDictionary<string, BudgetReservation> Rows, bool Complete);
