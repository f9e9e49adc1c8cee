namespace Functions.Local.Timers;

public static class TimerTriggerServiceCollectionExtensions
{
    /// <summary>Runs <paramref name="function"/> on an NCRONTAB schedule, as a <c>[TimerTrigger("%Setting%")]</c> would in Azure.</summary>
    public static IServiceCollection AddTimerTrigger(this IServiceCollection services, string functionName,
        Func<IServiceProvider, string> schedule, Func<IServiceProvider, CancellationToken, Task> function) =>
        services.AddSingleton<IHostedService>(provider => new CronTimer(functionName, CronTimer.Parse(schedule(provider)),
            cancellationToken => function(provider, cancellationToken),
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<CronTimer>>()));
}
