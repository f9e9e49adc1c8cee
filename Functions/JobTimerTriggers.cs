using Functions.Core;
using Functions.Core.Jobs;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>
/// Re-queues jobs an instance abandoned when it died (lease lapsed, or message held by the dead instance), on the
/// <c>Resilience:JobSweepSchedule</c> NCRONTAB schedule (app setting <c>Resilience__JobSweepSchedule</c>, every 15 s).
/// </summary>
public sealed class JobTimerTriggers(JobSweeper sweeper)
{
    [Function(FunctionNames.SweepJobs)]
    public Task Sweep([TimerTrigger(FunctionNames.SweepJobsSchedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        sweeper.HandleAsync(cancellationToken);
}
