using System.Globalization;
using Microsoft.Extensions.Options;

namespace Functions.Core.Spend;

/// <summary>How much of a budget is left: its limit less what is spent and held, and when its window resets.</summary>
public sealed record BudgetHeadroom(Budget Budget, BudgetWindow Window, long RemainingMicros)
{
    public const string LimitHeader = "x-budget-limit-usd";
    public const string RemainingHeader = "x-budget-remaining-usd";
    public const string ResetHeader = "x-budget-reset";
    public const string NameHeader = "x-budget-name";

    /// <summary>Every header, in the spirit of x-ratelimit-*: the budget's name, its limit and what is left in USD, its reset (RFC 3339).</summary>
    public static IReadOnlyList<string> Headers { get; } = [LimitHeader, RemainingHeader, ResetHeader, NameHeader];

    public IReadOnlyDictionary<string, string> ToHeaders() => new Dictionary<string, string>
    {
        [NameHeader] = Budget.Name,
        [LimitHeader] = Money.Usd(Budget.LimitMicros).ToString("0.00####", CultureInfo.InvariantCulture),
        [RemainingHeader] = Money.Usd(RemainingMicros).ToString("0.00####", CultureInfo.InvariantCulture),
        [ResetHeader] = Window.End.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// The budget with the least left for a caller, as this instance last saw its counters (a reservation or settlement
/// just wrote them): no storage round trip, so it can go on every answer. Null when no budget is configured or this
/// instance has not seen the caller's counters yet (an answer from the cache reserves nothing).
/// </summary>
public sealed class BudgetHeadrooms(BudgetCounterCache counters, BudgetAllowances allowances, IOptions<BudgetOptions> budgets)
{
    public BudgetHeadroom? Tightest(string caller, DateTimeOffset at)
    {
        BudgetHeadroom? tightest = null;
        foreach (var budget in budgets.Value.Configured())
        {
            var window = BudgetWindow.Of(budget.Period, at);
            if (counters.Get(window, budget.CounterKey(caller)) is not { } known)
            {
                continue;
            }
            // What this instance holds ahead for calls not yet made is still left to spend.
            var held = known.Counter.ReservedMicros - allowances.Free(window, budget.CounterKey(caller));
            var remaining = Math.Max(0, budget.LimitMicros - known.Counter.SpentMicros - held);
            if (tightest is null || remaining < tightest.RemainingMicros)
            {
                tightest = new BudgetHeadroom(budget, window, remaining);
            }
        }
        return tightest;
    }

    /// <summary>
    /// The <c>x-budget-*</c> headers of the caller's tightest budget at <paramref name="at"/> (none when no budget is known):
    /// what both chat doors put on every answer, on a 202 and on a budget refusal.
    /// </summary>
    public IReadOnlyDictionary<string, string> HeadersFor(string caller, DateTimeOffset at) =>
        Tightest(caller, at)?.ToHeaders() ?? NoHeaders;

    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();
}
