using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Spend;

/// <summary>
/// This instance's allowances: budget held ahead in storage, a few calls' worth per window (and per caller when a
/// per-caller budget is set), so an interactive call, which is settled on the instance it came to, takes its worst
/// case from memory instead of writing a reservation before the model is called. An allowance is held like any
/// reservation (its counter, <see cref="AllowanceKey"/>, is counted in the budgets' reserved totals, and grown only
/// where they still fit), so every instance together still never admits past a limit. A call's real cost moves from
/// the allowance to what is spent when it settles (<see cref="BudgetChange.Consume"/>), so the allowance shrinks as it
/// is used and grows again, ahead of need, by one write for many calls.
/// <para>
/// Near a limit an allowance cannot grow, and a call it cannot cover gets a reservation row of its own as before,
/// which admits exactly what fits. What an allowance holds but has not taken is given back then, when no call has
/// taken from it for <see cref="IdleFor"/>, and when the host stops. Until then it is room the other instances cannot
/// use: near a limit they may refuse up to that much early, never admit more. An instance that dies keeps its
/// allowance held until the window ends, as it keeps its in-flight reservations.
/// </para>
/// </summary>
public sealed class BudgetAllowances(BudgetCommits commits, IOptions<BudgetOptions> options, TimeProvider time,
    ILogger<BudgetAllowances> logger) : IHostedService, IDisposable
{
    /// <summary>How long after an allowance could not grow its calls reserve rows without trying again.</summary>
    public static readonly TimeSpan RefusedFor = BudgetCounterCache.FreshFor;

    /// <summary>An allowance no call has taken from for this long gives back what it holds free.</summary>
    public static readonly TimeSpan IdleFor = TimeSpan.FromSeconds(30);

    private readonly string instance = Guid.NewGuid().ToString("N")[..16];
    private readonly ConcurrentDictionary<(string Window, string Scope), Allowance> allowances = new();
    private readonly ConcurrentDictionary<(string ReservationId, string Window), Hold> holds = new();
    private long changes;
    private ITimer? sweeper;
    private bool stopping;

    /// <summary>The allowance counter's row key: its hold is counted in the budgets' totals, but it is no budget's counter.</summary>
    public static string AllowanceKey(string instance, string scope) => $"allowance|{instance}|{scope}";

    /// <summary>
    /// Takes <paramref name="amount"/> for <paramref name="reservationId"/> from the allowance of <paramref name="window"/>
    /// (<paramref name="budgets"/> are the window's), growing it when it falls short.
    /// </summary>
    /// <returns>False when the allowance cannot cover it: the caller reserves a row instead.</returns>
    public async Task<bool> TakeAsync(string reservationId, BudgetWindow window, string caller, IReadOnlyList<Budget> budgets, long amount)
    {
        var calls = options.Value.AllowanceCalls;
        if (calls == 0 || amount <= 0)
        {
            return false;
        }
        var perCaller = budgets.Any(budget => budget.Scope == BudgetScope.PerCaller);
        var scope = perCaller ? "caller|" + SpendKeys.Part(caller) : "all";
        var allowance = allowances.GetOrAdd((window.Key, scope),
            _ => new Allowance(window, AllowanceKey(instance, scope), perCaller ? caller : "", budgets));
        if (sweeper is null && !Volatile.Read(ref stopping))
        {
            var created = time.CreateTimer(_ => _ = SweepAsync(), null, IdleFor, IdleFor);
            if (Interlocked.CompareExchange(ref sweeper, created, null) is not null)
            {
                created.Dispose();
            }
        }
        if (!allowance.TryTake(amount) && !await GrowAndTakeAsync(allowance, amount, calls))
        {
            return false;
        }
        holds[(reservationId, window.Key)] = new Hold(allowance, amount);
        if (allowance.Free < amount * calls / 2)
        {
            _ = GrowAheadAsync(allowance, amount, calls); // the next calls find it grown, not waiting for it
        }
        return true;
    }

    /// <summary>
    /// Raises a hold of the allowance to <paramref name="amount"/> (before a fallback model is called), taking the rest
    /// from the allowance. When it cannot, the hold stays as it was: the caller then tries to hold the whole amount in a
    /// row, and gives this hold back (<see cref="Release"/>) only once the row holds it, so a paid call is never left
    /// without a hold to settle.
    /// </summary>
    /// <returns>True when the allowance holds the call and now covers <paramref name="amount"/>.</returns>
    public async Task<bool> RaiseAsync(string reservationId, BudgetWindow window, long amount)
    {
        if (!holds.TryGetValue((reservationId, window.Key), out var hold))
        {
            return false;
        }
        var more = amount - hold.Amount;
        if (more <= 0)
        {
            return true;
        }
        if (hold.Allowance.TryTake(more) || await GrowAndTakeAsync(hold.Allowance, more, options.Value.AllowanceCalls))
        {
            holds[(reservationId, window.Key)] = hold with { Amount = amount };
            return true;
        }
        return false;
    }

    /// <summary>Whether the allowance holds <paramref name="reservationId"/> in <paramref name="window"/>.</summary>
    public bool Holds(string reservationId, BudgetWindow window) => holds.ContainsKey((reservationId, window.Key));

    /// <summary>
    /// Gives a hold back to its allowance (the call will not be paid for, or a row holds it now): memory only, no round
    /// trip. A hold whose settlement was sent but not confirmed counts that cost as spent: the write may have landed.
    /// </summary>
    public void Release(string reservationId, BudgetWindow window)
    {
        if (holds.TryRemove((reservationId, window.Key), out var hold))
        {
            hold.Allowance.Consumed(hold.Charging, hold.Amount);
            AfterStop(hold.Allowance);
        }
    }

    /// <summary>
    /// Charges a held call its real cost (one write, grouped with the window's others), and frees its hold.
    /// <paramref name="current"/> is the job's row as known (none before its first settlement).
    /// </summary>
    public async Task SettleAsync(string reservationId, int attempt, long actualMicros, BudgetWindow window, BudgetReservation? current)
    {
        if (!holds.TryGetValue((reservationId, window.Key), out var hold))
        {
            return;
        }
        var allowance = hold.Allowance;
        holds[(reservationId, window.Key)] = hold with { Charging = actualMicros };
        await commits.CommitAsync(window,
            new BudgetChange.Consume(reservationId, allowance.Caller, allowance.Budgets, allowance.Key, attempt, actualMicros), current);
        if (holds.TryRemove((reservationId, window.Key), out _))
        {
            allowance.Consumed(actualMicros, hold.Amount);
            AfterStop(allowance);
        }
    }

    /// <summary>A call that ends after the host began to stop gives back at once what it freed.</summary>
    private void AfterStop(Allowance allowance)
    {
        if (Volatile.Read(ref stopping))
        {
            _ = TrimAsync(allowance);
        }
    }

    /// <summary>What this instance holds ahead but has not taken, counted in <paramref name="counterKey"/>'s reserved total.</summary>
    public long Free(BudgetWindow window, string counterKey) => allowances
        .Where(pair => pair.Key.Window == window.Key && pair.Value.Counters.Contains(counterKey))
        .Sum(pair => pair.Value.Free);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Gives back what every allowance holds beyond its calls in flight, so a stopped instance holds nothing idle.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref stopping, true);
        sweeper?.Dispose();
        return Task.WhenAll(allowances.Values.Select(TrimAsync));
    }

    public void Dispose() => sweeper?.Dispose();

    /// <summary>
    /// Every <see cref="IdleFor"/>: an allowance nothing took from since the last sweep gives back what it holds free,
    /// and one whose window has ended and holds no call is forgotten.
    /// </summary>
    private async Task SweepAsync()
    {
        var now = time.GetUtcNow();
        foreach (var (key, allowance) in allowances)
        {
            if (!allowance.TakenSinceSweep())
            {
                await TrimAsync(allowance);
                if (allowance.Window.End <= now && allowance.Held == 0)
                {
                    allowances.TryRemove(key, out _);
                }
            }
        }
    }

    /// <summary>
    /// Grows the allowance (<see cref="GrowthFor"/>) until it covers the call, one grower at a time, and takes from it. A
    /// grow refused gives back what is free, and the window's calls reserve rows for <see cref="RefusedFor"/>.
    /// </summary>
    private async Task<bool> GrowAndTakeAsync(Allowance allowance, long amount, int calls)
    {
        var (taken, refusedBy) = await GrowUntilTakenAsync(allowance, amount, calls);
        if (refusedBy is { Scope: BudgetScope.Global })
        {
            // The other callers' allowances of the window hold room of the same global budget: give it back too, so the
            // row this call reserves instead is checked against what calls really hold.
            await Task.WhenAll(allowances.Values
                .Where(other => other != allowance && other.Window.Key == allowance.Window.Key)
                .Select(TrimAsync));
        }
        return taken;
    }

    /// <summary>Under the allowance's turn: takes from it, growing it until it can; the budget that refused a grow, if one did.</summary>
    private async Task<(bool Taken, Budget? RefusedBy)> GrowUntilTakenAsync(Allowance allowance, long amount, int calls)
    {
        await allowance.Turn.WaitAsync();
        try
        {
            while (!allowance.TryTake(amount)) // else grown by the grower before us
            {
                if (Refused(allowance) || Volatile.Read(ref stopping))
                {
                    await TrimLockedAsync(allowance); // what calls gave back since is the rows' to use
                    return (false, null);
                }
                var delta = GrowthFor(allowance, amount, calls);
                if (await ResizeAsync(allowance, delta) is { } refused)
                {
                    allowance.RefusedSince = time.GetTimestamp();
                    await TrimLockedAsync(allowance);
                    return (false, refused);
                }
                allowance.Grown(delta); // and maybe taken by calls that did not wait for the turn: then grow again
            }
            return (true, null);
        }
        finally
        {
            allowance.Turn.Release();
        }
    }

    private bool Refused(Allowance allowance) => allowance.RefusedSince is { } refused && time.GetElapsedTime(refused) < RefusedFor;

    private async Task GrowAheadAsync(Allowance allowance, long amount, int calls)
    {
        if (!await allowance.Turn.WaitAsync(0))
        {
            return; // a grow is under way
        }
        try
        {
            if (allowance.Free >= amount * calls / 2 || Refused(allowance) || Volatile.Read(ref stopping))
            {
                return; // grown meanwhile, or the budget has no room for it now
            }
            var delta = GrowthFor(allowance, amount, calls);
            if (await ResizeAsync(allowance, delta) is null)
            {
                allowance.Grown(delta);
            }
        }
        catch (Exception ex) when (Storage.StorageFailure.Is(ex))
        {
            SpendLog.AllowanceNotGrown(logger, allowance.Key, ex); // the next call that falls short grows it, or reserves a row
        }
        finally
        {
            allowance.Turn.Release();
        }
    }

    /// <summary>
    /// A grow: enough for <paramref name="calls"/> calls like this one, but no more than a tenth of the smallest limit it
    /// counts against (never less than the call), so what one instance holds idle stays small beside the budget.
    /// </summary>
    private static long GrowthFor(Allowance allowance, long amount, int calls) =>
        Math.Min(amount * calls, Math.Max(amount, allowance.Budgets.Min(budget => budget.LimitMicros) / 10));

    private async Task TrimAsync(Allowance allowance)
    {
        await allowance.Turn.WaitAsync();
        try
        {
            await TrimLockedAsync(allowance);
        }
        finally
        {
            allowance.Turn.Release();
        }
    }

    /// <summary>Gives back what the allowance holds free. A lost write keeps it held in storage: less admitted, never more.</summary>
    private async Task TrimLockedAsync(Allowance allowance)
    {
        var free = allowance.TakeFree();
        if (free == 0)
        {
            return;
        }
        try
        {
            await ResizeAsync(allowance, -free);
        }
        catch (Exception ex) when (Storage.StorageFailure.Is(ex))
        {
            SpendLog.AllowanceNotTrimmed(logger, allowance.Key, free, ex);
        }
    }

    /// <returns>Null when written; otherwise the budget a grow would exceed, nothing written.</returns>
    private Task<Budget?> ResizeAsync(Allowance allowance, long delta) =>
        commits.CommitAsync(allowance.Window, new BudgetChange.Resize($"{allowance.Key}|{Interlocked.Increment(ref changes)}",
            allowance.Caller, allowance.Budgets, allowance.Key, delta), current: null);

    /// <summary>What a call holds of an allowance, and the cost a settlement of it has been sent for (0 before).</summary>
    private sealed record Hold(Allowance Allowance, long Amount, long Charging = 0);

    /// <summary>
    /// One allowance: <see cref="Held"/> as storage holds it for this instance, and how much of that calls in flight have
    /// taken. Only this instance writes its allowance, and only through <see cref="Turn"/> or a settlement, so the
    /// figures are exact unless a write's outcome was lost, and then storage holds more than they say, never less.
    /// </summary>
    private sealed class Allowance(BudgetWindow window, string key, string caller, IReadOnlyList<Budget> budgets)
    {
        private readonly Lock gate = new();
        private long held;
        private long taken;
        private bool takenSinceSweep = true;

        public BudgetWindow Window { get; } = window;
        public string Key { get; } = key;
        public string Caller { get; } = caller;
        public IReadOnlyList<Budget> Budgets { get; } = budgets;
        public IReadOnlyList<string> Counters { get; } = [.. budgets.Select(budget => budget.CounterKey(caller))];

        /// <summary>One grow or trim at a time.</summary>
        public SemaphoreSlim Turn { get; } = new(1, 1);

        public long? RefusedSince { get; set; }

        /// <summary>Whether a call took from it since this was last asked.</summary>
        public bool TakenSinceSweep()
        {
            lock (gate)
            {
                var taken = takenSinceSweep;
                takenSinceSweep = false;
                return taken;
            }
        }

        public long Held
        {
            get
            {
                lock (gate)
                {
                    return held;
                }
            }
        }

        public long Free
        {
            get
            {
                lock (gate)
                {
                    return held - taken;
                }
            }
        }

        public bool TryTake(long amount)
        {
            lock (gate)
            {
                if (held - taken < amount)
                {
                    return false;
                }
                taken += amount;
                takenSinceSweep = true;
                return true;
            }
        }

        public void Grown(long delta)
        {
            lock (gate)
            {
                held += delta;
                RefusedSince = null;
            }
        }

        /// <summary>A held call settled: its cost left the allowance for what is spent, and its hold is free again.</summary>
        public void Consumed(long actual, long amount)
        {
            lock (gate)
            {
                held -= actual;
                taken -= amount;
            }
        }

        /// <summary>Sets aside what is free, to be given back.</summary>
        public long TakeFree()
        {
            lock (gate)
            {
                var free = held - taken;
                held -= free;
                return free;
            }
        }
    }
}
