using System.Collections.Concurrent;

namespace Functions.Core.Spend;

/// <summary>
/// This instance's last known copy of each budget counter (with its ETag), so a reservation can write on top of it
/// directly: one storage round trip instead of a read per counter and then the write. A copy that another instance
/// has since moved fails the write's ETag check (412), and the caller drops it and reads afresh; so a stale copy can
/// cost a retry but never admit anything. A refusal is only given on a copy read or written within
/// <see cref="FreshFor"/>. Writers on this instance go through <see cref="BudgetCommits"/>, so they do not fail each
/// other's ETags.
/// </summary>
public sealed class BudgetCounterCache(TimeProvider time)
{
    /// <summary>How recent a copy must be to refuse on it.</summary>
    public static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(1);

    private const int MaxCounters = 10_000;

    private readonly ConcurrentDictionary<(string Window, string Key), (BudgetCounter Counter, long At)> counters = new();

    /// <summary>The last known copy, and whether it is fresh enough to refuse on; null when there is none.</summary>
    public (BudgetCounter Counter, bool Fresh)? Get(BudgetWindow window, string key) =>
        counters.TryGetValue((window.Key, key), out var known)
            ? (known.Counter, time.GetElapsedTime(known.At) < FreshFor)
            : null;

    /// <summary>Remembers counters as just read or just written (with the ETags the write returned).</summary>
    public void Put(BudgetWindow window, IEnumerable<BudgetCounter> written)
    {
        if (counters.Count >= MaxCounters)
        {
            counters.Clear(); // callers beyond this are read afresh; a bound, not a policy
        }
        var now = time.GetTimestamp();
        foreach (var counter in written)
        {
            counters[(window.Key, counter.RowKey)] = (counter, now);
        }
    }

    /// <summary>Forgets the given counters of a window: another instance moved at least one of them.</summary>
    public void Forget(BudgetWindow window, IEnumerable<string> keys)
    {
        foreach (var key in keys)
        {
            counters.TryRemove((window.Key, key), out _);
        }
    }
}
