using Functions.Core;
using Functions.Core.Alerts;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>
/// Operational alerts (upstream 429/5xx rates, circuit open, poison messages, unusual spend) on the app setting
/// OPS_ALERTS_SCHEDULE, six-field NCRONTAB in UTC (<c>0 * * * * *</c>, every minute, in the sample settings and infra).
/// </summary>
public sealed class AlertTriggers(OperationalAlerts alerts)
{
    [Function(FunctionNames.OperationalAlerts)]
    public Task Run([TimerTrigger(FunctionNames.OperationalAlertsSchedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        alerts.RunAsync(cancellationToken);
}
