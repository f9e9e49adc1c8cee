namespace Functions.Local.Timers;

public static class TimerTriggerServiceCollectionExtensions
{
    /// <summary>
    /// Runs <paramref name="function"/> on the NCRONTAB schedule in the app setting <paramref name="scheduleSetting"/>,
    /// as <c>[TimerTrigger("%setting%")]</c> does in Azure; <paramref name="defaultSchedule"/> when the setting is empty.
    /// A schedule that does not parse stops the host at start-up, as it stops the Functions host.
    /// </summary>
    public static IServiceCollection AddTimerTrigger(this IServiceCollection services, string functionName, string scheduleSetting,
        string defaultSchedule, Func<IServiceProvider, CancellationToken, Task> function)
    {
        services.AddSingleton<IHostedService>(provider =>
        {
            var setting = provider.GetRequiredService<IConfiguration>()[scheduleSetting];
            var expression = string.IsNullOrWhiteSpace(setting) ? defaultSchedule : setting.Trim();
            var schedule = CronTimer.TryParse(expression)
                ?? throw new InvalidOperationException(
                    $"{scheduleSetting} is '{expression}', which is not an NCRONTAB expression " +
                    "(second minute hour day month day-of-week, e.g. '0 0 * * * *' for hourly).");
            return new CronTimer(functionName, scheduleSetting, expression, schedule,
                cancellationToken => function(provider, cancellationToken),
                provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<CronTimer>>());
        });
        return services;
    }
}
