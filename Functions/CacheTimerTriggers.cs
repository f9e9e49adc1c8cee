using Functions.Core;
using Functions.Core.Storage;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>
/// Removes expired response-cache rows and job-stream rows past their retention, on the <c>Cache:SweepSchedule</c>
/// NCRONTAB schedule (app setting <c>Cache__SweepSchedule</c>).
/// </summary>
public sealed class CacheTimerTriggers(SweepHandler sweep)
{
    [Function(FunctionNames.SweepCache)]
    public Task Sweep([TimerTrigger(FunctionNames.SweepCacheSchedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        sweep.HandleAsync(cancellationToken);
}
