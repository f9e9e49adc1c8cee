using Functions.Core;
using Functions.Core.Spend;
using Functions.Local.Timers;

namespace Functions.Local;

/// <summary>The timer trigger, on the same schedule setting as the Functions app's <c>SpendRollup</c>.</summary>
public static class SpendTimerTriggers
{
    public static IServiceCollection AddSpendTimerTriggers(this IServiceCollection services) =>
        services.AddTimerTrigger(FunctionNames.SpendRollup, FunctionNames.SpendRollupScheduleSetting, SpendRollupHandler.DefaultSchedule,
            (provider, cancellationToken) => provider.GetRequiredService<SpendRollupHandler>().HandleAsync(cancellationToken));
}
