using Functions.Core;
using Functions.Core.Cache;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>Removes expired response-cache rows on the <c>Cache:SweepSchedule</c> NCRONTAB schedule (app setting <c>Cache__SweepSchedule</c>).</summary>
public sealed class CacheTimerTriggers(CacheSweepHandler sweep)
{
    [Function(FunctionNames.SweepCache)]
    public Task Sweep([TimerTrigger(FunctionNames.SweepCacheSchedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        sweep.HandleAsync(cancellationToken);
}
