using Functions.Core;
using Functions.Core.Jobs;
using Functions.Core.Resilience;
using Functions.Local.Timers;

namespace Functions.Local;

/// <summary>The timer trigger of the Functions app's <c>SweepJobs</c>, on the same <c>Resilience:JobSweepSchedule</c> setting.</summary>
public static class JobTimerTriggers
{
    public static IServiceCollection AddJobTimerTriggers(this IServiceCollection services) =>
        services.AddTimerTrigger(FunctionNames.SweepJobs, FunctionNames.SweepJobsScheduleSetting, new ResilienceOptions().JobSweepSchedule,
            async (provider, cancellationToken) => await provider.GetRequiredService<JobSweeper>().HandleAsync(cancellationToken));
}
