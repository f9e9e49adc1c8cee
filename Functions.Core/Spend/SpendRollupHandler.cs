using Functions.Core.Alerts;

namespace Functions.Core.Spend;

/// <summary>
/// The <c>SpendRollup</c> timer's work: roll the ledger up, then check budget thresholds, then send yesterday's
/// digest once it is final. Alerts run on the rollup's timer rather than their own so that there is one schedule to
/// set, the digest never runs ahead of the rollup it reports, and both see the same clock; an alert lags a crossing
/// by at most one period of <see cref="ScheduleSetting"/> (shorten it for faster alerts: re-rolling an open day is cheap).
/// </summary>
public sealed class SpendRollupHandler(SpendRollup rollup, BudgetAlerts alerts, DailyDigest digest)
{
    /// <summary>The app setting holding the NCRONTAB schedule (six fields, with seconds), read by both hosts.</summary>
    public const string ScheduleSetting = "SPEND_ROLLUP_SCHEDULE";

    /// <summary>Hourly, on the hour.</summary>
    public const string DefaultSchedule = "0 0 * * * *";

    public async Task HandleAsync(CancellationToken cancellationToken)
    {
        var run = await rollup.RunAsync(cancellationToken);
        await alerts.RunAsync(cancellationToken);
        await digest.RunAsync(run.ClosedThrough, cancellationToken);
    }
}
