using System.Text.Json.Nodes;
using Functions.Core.Spend;
using Microsoft.Extensions.Options;

namespace Functions.Core.Alerts;

/// <summary>
/// Budget threshold alerts: for each configured budget, in the current window and the one before (a crossing late
/// in a window is still seen by the first run of the next), every threshold the settled spend has reached is
/// delivered once per budget, caller, window and threshold.
/// </summary>
public sealed class BudgetAlerts(
    BudgetStore budgetStore,
    AlertStates states,
    AlertDelivery delivery,
    AlertSender sender,
    IOptions<BudgetOptions> budgets,
    IOptions<AlertOptions> options,
    TimeProvider time)
{
    /// <returns>How many alerts this run delivered.</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var configured = budgets.Value.Configured();
        if (configured.Count == 0 || (await sender.ChannelsAsync(cancellationToken)).Count == 0)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        var delivered = 0;
        foreach (var period in configured.Select(budget => budget.Period).Distinct())
        {
            var current = BudgetWindow.Of(period, now);
            foreach (var window in (BudgetWindow[])[current.Previous, current])
            {
                var partition = AlertStates.Partition(window);
                var known = await states.GetPartitionAsync(partition, cancellationToken);
                foreach (var counter in await budgetStore.GetCountersAsync(window, cancellationToken))
                {
                    var budget = configured.FirstOrDefault(b => b.Period == period && b.CounterKey(counter.Caller ?? "") == counter.RowKey);
                    if (budget is null)
                    {
                        continue;
                    }
                    foreach (var threshold in options.Value.ThresholdPercents().Where(t => counter.SpentMicros * 100 >= t * budget.LimitMicros))
                    {
                        var rowKey = $"{budget.Name}|{SpendKeys.Part(counter.Caller ?? "all")}|{threshold}";
                        var outcome = await delivery.DeliverAsync(partition, rowKey, known.GetValueOrDefault(rowKey),
                            _ => Task.FromResult(Compose(budget, counter, window, threshold, now)), cancellationToken);
                        delivered += outcome == AlertOutcome.Sent ? 1 : 0;
                    }
                }
            }
        }
        return delivered;
    }

    internal static AlertMessage Compose(Budget budget, BudgetCounter counter, BudgetWindow window, int threshold, DateTimeOffset now)
    {
        var spent = counter.SpentMicros;
        var limit = budget.LimitMicros;
        var percent = Math.Round(spent * 100m / limit, 1);
        var exhaustion = ProjectExhaustion(spent, limit, window, now);
        var who = counter.Caller is null ? "all callers" : $"caller {counter.Caller}";
        var title = $"{threshold}% of the {Describe(budget)} budget used ({who}, {window.Label})";
        string[] lines =
        [
            $"Spent {Money.Format(spent)} of {Money.Format(limit)} ({percent}%).",
            exhaustion switch
            {
                null => $"At this rate it lasts until the budget resets at {window.End:u}.",
                not null when spent >= limit => $"The budget is exhausted: requests are refused until {window.End:u}.",
                { } at => $"At this rate it runs out at {at:u}, before the reset at {window.End:u}.",
            },
        ];
        var details = new JsonObject
        {
            ["budget"] = budget.Name,
            ["caller"] = counter.Caller,
            ["window"] = window.Label,
            ["thresholdPercent"] = threshold,
            ["percentUsed"] = percent,
            ["spentUsd"] = Money.Usd(spent),
            ["limitUsd"] = Money.Usd(limit),
            ["spentMicros"] = spent,
            ["limitMicros"] = limit,
            ["projectedExhaustionAt"] = exhaustion,
            ["resetsAt"] = window.End,
        };
        var id = $"budget:{budget.Name}:{counter.Caller ?? "all"}:{window.Label}:{threshold}";
        return new AlertMessage(id, AlertMessage.BudgetThreshold, title, lines, details);
    }

    /// <summary>
    /// When the budget runs out if spending goes on at the window's average rate so far; null if not before the
    /// window resets. An exhausted budget reports <paramref name="now"/>.
    /// </summary>
    internal static DateTimeOffset? ProjectExhaustion(long spent, long limit, BudgetWindow window, DateTimeOffset now)
    {
        if (spent >= limit)
        {
            return now;
        }
        var elapsed = (now < window.End ? now : window.End) - window.Start;
        if (spent <= 0 || elapsed <= TimeSpan.Zero)
        {
            return null;
        }
        var secondsLeft = elapsed.TotalSeconds * (limit - spent) / spent;
        return secondsLeft < (window.End - now).TotalSeconds ? now.AddSeconds(secondsLeft) : null;
    }

    private static string Describe(Budget budget) =>
        $"{(budget.Scope == BudgetScope.Global ? "global" : "per-caller")} {(budget.Period == BudgetPeriod.Daily ? "daily" : "monthly")}";
}
