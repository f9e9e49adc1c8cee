using System.Collections.Concurrent;

namespace Functions.Core.Telemetry;

/// <summary>Counts for one minute: what operational alerts judge, summed over instances and minutes.</summary>
public sealed record HealthCounts(
    long Calls = 0, long RateLimited = 0, long ServerErrors = 0, long CircuitOpens = 0, long Poisoned = 0, long CostMicros = 0)
{
    public static readonly HealthCounts Zero = new();

    public HealthCounts Add(HealthCounts other) => new(Calls + other.Calls, RateLimited + other.RateLimited,
        ServerErrors + other.ServerErrors, CircuitOpens + other.CircuitOpens, Poisoned + other.Poisoned, CostMicros + other.CostMicros);
}

/// <summary>
/// This instance's counts per UTC minute, in memory (an increment is all a request pays). Metrics are per instance and
/// may not be exported at all, so operational alerts judge these instead: <see cref="HealthCountersFlusher"/> writes
/// each changed minute to Table Storage, one row per instance, where the alert timer sums every instance's rows.
/// </summary>
public sealed class HealthCounters(TimeProvider time)
{
    private readonly ConcurrentDictionary<long, Minute> minutes = new();

    /// <summary>Names this instance's rows; random, so two instances (or two hosts in one test run) never share one.</summary>
    public string Instance { get; } = Guid.NewGuid().ToString("N")[..12];

    /// <summary>
    /// An upstream answer: 429 is rate limiting; 5xx, 408 and no answer at all (timeouts, broken connections) are
    /// server errors; a call cancelled on our side (shutdown, a client gone) is not the upstream's doing and is not counted.
    /// </summary>
    public void Upstream(int status, string? errorType)
    {
        if (errorType == "cancelled")
        {
            return;
        }
        var minute = Current();
        Interlocked.Increment(ref minute.Calls);
        if (status == 429)
        {
            Interlocked.Increment(ref minute.RateLimited);
        }
        else if (status is >= 500 or 408 or 0)
        {
            Interlocked.Increment(ref minute.ServerErrors);
        }
        minute.Touch();
    }

    public void CircuitOpened()
    {
        var minute = Current();
        minute.Increment(ref minute.CircuitOpens);
    }

    public void Poisoned()
    {
        var minute = Current();
        minute.Increment(ref minute.Poisoned);
    }

    public void Cost(long micros)
    {
        var minute = Current();
        Interlocked.Add(ref minute.CostMicros, micros);
        minute.Touch();
    }

    /// <summary>
    /// The minutes that changed since the last call, with their totals so far (a row is replaced, so a minute flushed
    /// twice is still counted once). Minutes before the current one are forgotten once flushed.
    /// </summary>
    public IReadOnlyList<(DateTimeOffset Minute, HealthCounts Counts)> TakeChanged()
    {
        var now = MinuteOf(time.GetUtcNow());
        var changed = new List<(DateTimeOffset, HealthCounts)>();
        foreach (var (key, minute) in minutes)
        {
            if (Interlocked.Exchange(ref minute.Dirty, 0) == 1)
            {
                changed.Add((DateTimeOffset.FromUnixTimeSeconds(key * 60), minute.Snapshot()));
            }
            else if (key < now)
            {
                minutes.TryRemove(key, out _);
            }
        }
        return changed;
    }

    /// <summary>A minute whose flush failed: changed again, so the next flush writes it.</summary>
    public void Requeue(DateTimeOffset minute, HealthCounts counts)
    {
        var bucket = minutes.GetOrAdd(MinuteOf(minute), _ => new Minute
        {
            Calls = counts.Calls, RateLimited = counts.RateLimited, ServerErrors = counts.ServerErrors,
            CircuitOpens = counts.CircuitOpens, Poisoned = counts.Poisoned, CostMicros = counts.CostMicros,
        });
        bucket.Touch();
    }

    private Minute Current() => minutes.GetOrAdd(MinuteOf(time.GetUtcNow()), _ => new Minute());

    private static long MinuteOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / 60;

    private sealed class Minute
    {
        public long Calls, RateLimited, ServerErrors, CircuitOpens, Poisoned, CostMicros;
        public int Dirty;

        public void Increment(ref long counter)
        {
            Interlocked.Increment(ref counter);
            Touch();
        }

        public void Touch() => Volatile.Write(ref Dirty, 1);

        public HealthCounts Snapshot() => new(Interlocked.Read(ref Calls), Interlocked.Read(ref RateLimited),
            Interlocked.Read(ref ServerErrors), Interlocked.Read(ref CircuitOpens), Interlocked.Read(ref Poisoned),
            Interlocked.Read(ref CostMicros));
    }
}
