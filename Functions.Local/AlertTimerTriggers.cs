using Functions.Core;
using Functions.Core.Alerts;
using Functions.Local.Timers;

namespace Functions.Local;

/// <summary>The operational-alerts timer, on the same schedule setting as the Functions app's <c>OperationalAlerts</c>.</summary>
public static class AlertTimerTriggers
{
    public static IServiceCollection AddAlertTimerTriggers(this IServiceCollection services) =>
        services.AddTimerTrigger(FunctionNames.OperationalAlerts, FunctionNames.OperationalAlertsScheduleSetting,
            OperationalAlertOptions.DefaultSchedule,
            (provider, cancellationToken) => provider.GetRequiredService<OperationalAlerts>().RunAsync(cancellationToken));
}
