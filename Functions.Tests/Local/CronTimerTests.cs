using Functions.Local.Timers;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Local;

/// <summary>The local stand-in for <c>[TimerTrigger("%SETTING%")]</c>, driven by a fake clock.</summary>
public sealed class CronTimerTests
{
    private const string Setting = "TEST_SCHEDULE";
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 3, 10, 11, 59, 55, TimeSpan.Zero));
    private readonly ListLoggerProvider logs = new();
    private readonly List<DateTimeOffset> runs = [];

    [Fact]
    public async Task Timer_RunsAtEachOccurrenceOfTheScheduleInTheSetting_AndLogsTheNextOne()
    {
        await using var services = Build("*/30 * * * * *", (_, _) => Record());
        var timer = services.GetRequiredService<IHostedService>();

        await timer.StartAsync(CancellationToken.None);
        await AdvanceUntilAsync(() => runs.Count == 2);
        await timer.StopAsync(CancellationToken.None);

        Assert.Equal([At(12, 0, 0), At(12, 0, 30)], runs);
        Assert.Contains(logs.Lines, line => line.EventId == 1100 && line.Message.Contains("'*/30 * * * * *'") && line.Message.Contains("2026-03-10T12:00:00"));
        Assert.Contains(logs.Lines, line => line.EventId == 1101 && line.Message.Contains("2026-03-10T12:01:00"));
    }

    [Fact]
    public async Task FailedRun_IsLogged_AndTheNextOccurrenceStillRuns()
    {
        await using var services = Build("*/30 * * * * *", (_, _) =>
        {
            Record();
            return runs.Count == 1 ? Task.FromException(new InvalidOperationException("boom")) : Task.CompletedTask;
        });
        var timer = services.GetRequiredService<IHostedService>();

        await timer.StartAsync(CancellationToken.None);
        await AdvanceUntilAsync(() => runs.Count == 2);
        await timer.StopAsync(CancellationToken.None);

        Assert.Single(logs.Lines, line => line.EventId == 1102 && line.Level == LogLevel.Error);
    }

    [Fact]
    public async Task EmptySetting_UsesTheDefaultSchedule()
    {
        await using var services = Build("", (_, _) => Record());
        var timer = services.GetRequiredService<IHostedService>();

        await timer.StartAsync(CancellationToken.None);
        for (var wait = 0; wait < 200 && !logs.Lines.Any(line => line.EventId == 1100); wait++)
        {
            await Task.Delay(10); // ExecuteAsync starts on a background thread
        }
        await timer.StopAsync(CancellationToken.None);

        Assert.Contains(logs.Lines, line => line.EventId == 1100 && line.Message.Contains("'0 0 * * * *'") && line.Message.Contains("2026-03-10T12:00:00"));
        Assert.Empty(runs);
    }

    [Theory]
    [InlineData("0 17 * * * *", 17)] // the host's six fields, seconds first
    [InlineData("17 * * * *", 17)]   // the classic five fields, which the host also accepts
    public void Parse_TakesTheHostsSixFieldFormAndTheClassicFiveFieldForm(string expression, int minute)
    {
        var next = CronTimer.TryParse(expression)!.GetNextOccurrence(new DateTime(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc));

        Assert.Equal(new DateTime(2025, 6, 1, 12, minute, 0, DateTimeKind.Utc), next);
    }

    [Theory]
    [InlineData("0 * * * * * *")]
    [InlineData("every hour")]
    public async Task InvalidSchedule_FailsAtStartUp_NamingTheSetting(string schedule)
    {
        await using var services = Build(schedule, (_, _) => Record());

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IHostedService>());
        Assert.Contains(Setting, error.Message);
    }

    private ServiceProvider Build(string schedule, Func<IServiceProvider, CancellationToken, Task> handler)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [Setting] = schedule }).Build());
        services.AddSingleton<TimeProvider>(time);
        services.AddLogging(logging => logging.AddProvider(logs));
        services.AddTimerTrigger("TestTimer", Setting, "0 0 * * * *", handler);
        return services.BuildServiceProvider();
    }

    private Task Record()
    {
        lock (runs)
        {
            runs.Add(time.GetUtcNow());
        }
        return Task.CompletedTask;
    }

    /// <summary>Moves the clock a second at a time, letting the timer's loop catch up in between.</summary>
    private async Task AdvanceUntilAsync(Func<bool> done)
    {
        for (var step = 0; step < 600 && !done(); step++)
        {
            await Task.Delay(5);
            if (!done())
            {
                time.Advance(TimeSpan.FromSeconds(1));
            }
        }
        Assert.True(done(), "the timer did not run when due");
    }

    private static DateTimeOffset At(int hour, int minute, int second) => new(2026, 3, 10, hour, minute, second, TimeSpan.Zero);
}
