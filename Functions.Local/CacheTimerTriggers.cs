using Functions.Core;
using Functions.Core.Cache;
using Functions.Local.Timers;

namespace Functions.Local;

/// <summary>The timer trigger of the Functions app's <c>SweepCache</c>, on the same <c>Cache:SweepSchedule</c> setting.</summary>
public static class CacheTimerTriggers
{
    public static IServiceCollection AddCacheTimerTriggers(this IServiceCollection services) =>
        services.AddTimerTrigger(FunctionNames.SweepCache, FunctionNames.SweepCacheScheduleSetting, new CacheOptions().SweepSchedule,
            (provider, cancellationToken) => provider.GetRequiredService<CacheSweepHandler>().HandleAsync(cancellationToken));
}
