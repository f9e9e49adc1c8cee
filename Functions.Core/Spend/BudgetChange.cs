namespace Functions.Core.Spend;

/// <summary>
/// What one change writes to a window's partition: the reservation row as it will be, which counters move and by how
/// much, and the budgets the counters must still fit afterwards (only a change that takes more does).
/// </summary>
public sealed record BudgetPlan(BudgetReservation Row, IReadOnlyList<string> Counters, long ReservedDelta, long SpentDelta,
    IReadOnlyList<Budget> MustFit)
{
    /// <summary>Whose budgets <see cref="MustFit"/> are counted for.</summary>
    public string Caller => Row.Caller;
}

/// <summary>
/// One change of a job's reservation within a window. It is planned from the reservation row as it stands, so it can
/// be planned again after another writer moved it (and finds nothing due when its own earlier write had in fact landed).
/// </summary>
public abstract record BudgetChange(string ReservationId)
{
    /// <returns>What to write, or null when nothing is due.</returns>
    public abstract BudgetPlan? Plan(BudgetReservation? current);

    /// <summary>The counters of <paramref name="budgets"/> that <paramref name="caller"/>'s spending moves.</summary>
    protected static List<string> CounterKeys(IReadOnlyList<Budget> budgets, string caller) =>
        [.. budgets.Select(budget => budget.CounterKey(caller))];

    /// <summary>A new hold of <paramref name="amount"/>, against <paramref name="counters"/>.</summary>
    protected BudgetReservation NewHold(string caller, IReadOnlyList<string> counters, long amount) =>
        new(ReservationId, caller, counters, amount, BudgetReservation.Reserved, ",", 0);

    /// <summary>Holds <paramref name="Amount"/> against <paramref name="Budgets"/> (all of one window) for a new submit.</summary>
    public sealed record Reserve(string ReservationId, string Caller, IReadOnlyList<Budget> Budgets, long Amount) : BudgetChange(ReservationId)
    {
        public override BudgetPlan? Plan(BudgetReservation? current)
        {
            if (current is not null)
            {
                return null; // already reserved: a retried write that had in fact succeeded
            }
            var keys = CounterKeys(Budgets, Caller);
            return new BudgetPlan(NewHold(Caller, keys, Amount),
                keys, Amount, 0, Budgets);
        }
    }

    /// <summary>Raises the hold to <paramref name="Amount"/> where it is less (before a fallback model is called).</summary>
    public sealed record Raise(string ReservationId, string Caller, IReadOnlyList<Budget> Budgets, long Amount) : BudgetChange(ReservationId)
    {
        public override BudgetPlan? Plan(BudgetReservation? current)
        {
            var held = current is { State: BudgetReservation.Reserved } ? current.HeldMicros : 0;
            if (held >= Amount)
            {
                return null;
            }
            var keys = CounterKeys(Budgets, Caller);
            var row = current is null
                ? NewHold(Caller, keys, Amount)
                : current with { Counters = keys, HeldMicros = Amount, State = BudgetReservation.Reserved };
            return new BudgetPlan(row, row.Counters, Amount - held, 0, Budgets);
        }
    }

    /// <summary>
    /// Replaces the hold with the real cost of call <paramref name="Attempt"/> (once per attempt), or with nothing
    /// (<paramref name="Attempt"/> null: a release, once).
    /// </summary>
    public sealed record Finish(string ReservationId, int? Attempt, long ActualMicros) : BudgetChange(ReservationId)
    {
        public override BudgetPlan? Plan(BudgetReservation? current)
        {
            var due = current is not null && (Attempt is { } n ? !current.IsSettled(n) : current.State == BudgetReservation.Reserved);
            if (!due)
            {
                return null;
            }
            var row = Attempt is { } settled
                ? current! with
                {
                    State = BudgetReservation.Settled, HeldMicros = 0, SettledAttempts = current.SettledAttempts + settled + ",",
                    SpentMicros = current.SpentMicros + ActualMicros,
                }
                : current! with { State = BudgetReservation.Released, HeldMicros = 0 };
            return new BudgetPlan(row, current.Counters, -current.HeldMicros, ActualMicros, []);
        }
    }

    /// <summary>
    /// Changes this instance's allowance (<see cref="BudgetAllowances"/>) by <paramref name="Delta"/>: more held against
    /// <paramref name="Budgets"/>, which must still fit, or (negative) given back. The allowance's hold is the counter
    /// <paramref name="AllowanceKey"/>; the change leaves a row of its own (<paramref name="ChangeId"/>, holding nothing)
    /// so that a write whose reply was lost and that is sent again finds it applied, as a reservation's does.
    /// </summary>
    public sealed record Resize(string ChangeId, string Caller, IReadOnlyList<Budget> Budgets, string AllowanceKey, long Delta)
        : BudgetChange(ChangeId)
    {
        public const string Resized = "Resized";

        public override BudgetPlan? Plan(BudgetReservation? current)
        {
            if (current is not null || Delta == 0)
            {
                return null; // applied already
            }
            return new BudgetPlan(new BudgetReservation(ChangeId, Caller, [AllowanceKey], 0, Resized, ",", 0),
                [.. CounterKeys(Budgets, Caller), AllowanceKey], Delta, 0, Delta > 0 ? Budgets : []);
        }
    }

    /// <summary>
    /// Charges call <paramref name="Attempt"/> of a job held in this instance's allowance its real cost, once: the cost
    /// moves from the allowance's hold to what is spent, and the job's row records it as settled (so a retried write that
    /// had landed finds nothing due). What the call held beyond its cost stays in the allowance for the next call.
    /// </summary>
    public sealed record Consume(string ReservationId, string Caller, IReadOnlyList<Budget> Budgets, string AllowanceKey, int Attempt,
        long ActualMicros) : BudgetChange(ReservationId)
    {
        public override BudgetPlan? Plan(BudgetReservation? current)
        {
            if (current is not null && current.IsSettled(Attempt))
            {
                return null;
            }
            var keys = CounterKeys(Budgets, Caller);
            var row = (current ?? new BudgetReservation(ReservationId, Caller, keys, 0, BudgetReservation.Settled, ",", 0)) with
            {
                State = BudgetReservation.Settled, HeldMicros = 0, SettledAttempts = (current?.SettledAttempts ?? ",") + Attempt + ",",
                SpentMicros = (current?.SpentMicros ?? 0) + ActualMicros,
            };
            return new BudgetPlan(row, [.. keys, AllowanceKey], -ActualMicros, ActualMicros, []);
        }
    }
}
