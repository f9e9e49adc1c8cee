namespace Functions.Core.RateLimits;

/// <summary>
/// A per-minute limit as a generic cell rate algorithm (GCRA): the state is one instant, the "theoretical arrival
/// time" (TAT) at which the bucket is full again. Each unit moves it on by <see cref="Interval"/> (a minute / limit); a
/// cost fits while the TAT stays within one minute of now. That is a token bucket of <c>limit</c> units refilled
/// continuously (no burst at a window's edge, as fixed windows allow), and a count is one number a conditional write
/// can move. Times are UTC ticks.
/// </summary>
public readonly record struct RateBucket(long Limit)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>Ticks per unit, rounded up so that rounding never admits more than the limit.</summary>
    public long Interval => (Window.Ticks + Limit - 1) / Limit;

    /// <summary>How far ahead of now the TAT may run: the whole limit's worth of intervals (a minute, give or take the rounding).</summary>
    public long Capacity => Limit * Interval;

    /// <summary>Whether <paramref name="cost"/> units could ever fit (a cost above the whole minute's limit never does).</summary>
    public bool CanEverFit(long cost) => cost <= Limit;

    /// <returns>The new TAT when <paramref name="cost"/> fits now, else null and how long until it would.</returns>
    public (long? Tat, TimeSpan Wait) Take(long tat, long now, long cost)
    {
        var next = Math.Max(tat, now) + cost * Interval;
        var over = next - Capacity - now;
        return over <= 0 ? (next, TimeSpan.Zero) : (null, TimeSpan.FromTicks(over));
    }

    /// <summary>Units still free at <paramref name="now"/>.</summary>
    public long Remaining(long tat, long now) => Math.Max(0, (now + Capacity - Math.Max(tat, now)) / Interval);

    /// <summary>How long until the bucket is full again (the whole limit free).</summary>
    public static TimeSpan UntilFull(long tat, long now) => TimeSpan.FromTicks(Math.Max(0, tat - now));

    /// <summary>Gives <paramref name="units"/> back (a reservation larger than the real use): never below now, as a full bucket holds no more.</summary>
    public long Refund(long tat, long now, long units) => Refund(tat, now, units, Interval);

    /// <summary>As <see cref="Refund(long, long, long)"/>, at an interval recorded earlier; a negative refund charges more.</summary>
    public static long Refund(long tat, long now, long units, long interval) =>
        units <= 0 ? Math.Max(tat, now) + -units * interval : Math.Max(now, tat - units * interval);

    public RatePolicy Status(string name, long tat, long now, string? unit) =>
        new(name, Limit, Remaining(tat, now), UntilFull(tat, now), unit);
}

/// <summary>
/// One limit as the headers show it: <c>rpm</c> or <c>tpm</c>, its quota per minute, what is left and how long until
/// it is all free again.
/// </summary>
public sealed record RatePolicy(string Name, long Quota, long Remaining, TimeSpan UntilFull, string? Unit);
