using Functions.Core;
using Functions.Core.Spend;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>
/// The spend feature's triggers: the rollup timer (which also sends budget alerts and the daily digest) and the
/// admin-only report. The schedule is the app setting SPEND_ROLLUP_SCHEDULE, six-field NCRONTAB in UTC
/// (<c>0 0 * * * *</c>, hourly, in local.settings.sample.json and the infrastructure); the host needs it set.
/// </summary>
public sealed class SpendTriggers(SpendRollupHandler rollup, SpendReportHandler report)
{
    [Function(FunctionNames.SpendRollup)]
    public Task Rollup([TimerTrigger(FunctionNames.SpendRollupSchedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        rollup.HandleAsync(cancellationToken);

    [Function(FunctionNames.GetSpend)]
    public async Task<IResult> Report(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = FunctionNames.GetSpendRoute)] HttpRequest request,
        CancellationToken cancellationToken) =>
        await report.HandleAsync(request, cancellationToken);
}
