using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Spend;

/// <summary>
/// Spending limits in USD, per UTC day and per UTC calendar month, for all callers together and for each caller.
/// Bound from the <c>Budgets</c> configuration section; 0 or empty means no limit.
/// </summary>
public sealed class BudgetOptions
{
    public const string SectionName = "Budgets";

    [Range(typeof(decimal), "0", "100000000")]
    public decimal? GlobalDailyUsd { get; set; }

    [Range(typeof(decimal), "0", "100000000")]
    public decimal? PerCallerDailyUsd { get; set; }

    [Range(typeof(decimal), "0", "100000000")]
    public decimal? GlobalMonthlyUsd { get; set; }

    [Range(typeof(decimal), "0", "100000000")]
    public decimal? PerCallerMonthlyUsd { get; set; }

    /// <summary>
    /// How many interactive calls' worst cases an instance holds ahead in each budget window (<see cref="BudgetAllowances"/>),
    /// so those calls reserve in memory instead of writing before the model is called; at most a tenth of the smallest
    /// limit. 0 turns allowances off: every call then reserves a row of its own.
    /// </summary>
    [Range(0, 1000)]
    public int AllowanceCalls { get; set; } = 8;

    /// <summary>The budgets that have a limit, per-caller before global, daily before monthly.</summary>
    public IReadOnlyList<Budget> Configured() =>
    [
        .. Limit(BudgetPeriod.Daily, BudgetScope.PerCaller, PerCallerDailyUsd),
        .. Limit(BudgetPeriod.Daily, BudgetScope.Global, GlobalDailyUsd),
        .. Limit(BudgetPeriod.Monthly, BudgetScope.PerCaller, PerCallerMonthlyUsd),
        .. Limit(BudgetPeriod.Monthly, BudgetScope.Global, GlobalMonthlyUsd),
    ];

    private static IEnumerable<Budget> Limit(BudgetPeriod period, BudgetScope scope, decimal? usd)
    {
        var micros = (long)decimal.Floor((usd ?? 0) * Money.MicrosPerUsd);
        return micros > 0 ? [new Budget(period, scope, micros)] : [];
    }
}

public enum BudgetPeriod
{
    Daily,
    Monthly,
}

public enum BudgetScope
{
    Global,
    PerCaller,
}

/// <summary>One configured limit.</summary>
public sealed record Budget(BudgetPeriod Period, BudgetScope Scope, long LimitMicros)
{
    /// <summary><c>globalDaily</c>, <c>perCallerDaily</c>, <c>globalMonthly</c> or <c>perCallerMonthly</c>.</summary>
    public string Name => (Scope == BudgetScope.Global ? "global" : "perCaller") + Period;

    /// <summary>The row of this budget's counter for <paramref name="caller"/> within a window's partition.</summary>
    public const string GlobalCounterKey = "counter|global";

    public string CounterKey(string caller) =>
        Scope == BudgetScope.Global ? GlobalCounterKey : "counter|caller|" + SpendKeys.Part(caller);
}

/// <summary>A budget's period that contains a given instant: a UTC day or a UTC calendar month.</summary>
public readonly record struct BudgetWindow(BudgetPeriod Period, DateTimeOffset Start)
{
    public static BudgetWindow Of(BudgetPeriod period, DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return new BudgetWindow(period, period == BudgetPeriod.Daily
            ? new DateTimeOffset(utc.Date, TimeSpan.Zero)
            : new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero));
    }

    public DateTimeOffset End => Period == BudgetPeriod.Daily ? Start.AddDays(1) : Start.AddMonths(1);

    public BudgetWindow Previous => new(Period, Period == BudgetPeriod.Daily ? Start.AddDays(-1) : Start.AddMonths(-1));

    /// <summary><c>2026-01-15</c> or <c>2026-01</c>.</summary>
    public string Label => Start.ToString(Period == BudgetPeriod.Daily ? "yyyy-MM-dd" : "yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>day-20260115</c> or <c>month-202601</c>, the window's part of partition keys.</summary>
    public string Key => Period == BudgetPeriod.Daily
        ? "day-" + Start.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture)
        : "month-" + Start.ToString("yyyyMM", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Spend is kept in whole micro-dollars (millionths of a USD); these convert for display.</summary>
public static class Money
{
    public const decimal MicrosPerUsd = 1_000_000m;

    public static decimal Usd(long micros) => micros / MicrosPerUsd;

    /// <summary><c>$0.001234</c>: every micro-dollar shown, nothing rounded away.</summary>
    public static string Format(long micros) =>
        "$" + Usd(micros).ToString("0.00####", System.Globalization.CultureInfo.InvariantCulture);
}
