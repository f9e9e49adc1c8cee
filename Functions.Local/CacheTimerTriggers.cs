using Functions.Core;
using Functions.Core.Cache;
using Functions.Core.Storage;
using Functions.Local.Timers;

namespace Functions.Local;

/// <summary>
/// The timer trigger of the Functions app's <c>SweepCache</c>, on the same <c>Cache:SweepSchedule</c> setting: expired
/// cache rows and job-stream rows past their retention.
/// </summary>
public static class CacheTimerTriggers
{
    public static IServiceCollection AddCacheTimerTriggers(this IServiceCollection services) =>
        services.AddTimerTrigger(FunctionNames.SweepCache, FunctionNames.SweepCacheScheduleSetting, new CacheOptions().SweepSchedule,
            (provider, cancellationToken) => provider.GetRequiredService<SweepHandler>().HandleAsync(cancellationToken));
}
