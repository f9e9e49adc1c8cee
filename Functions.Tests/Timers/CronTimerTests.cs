using System.Threading.Channels;
using Functions.Local.Timers;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Timers;

/// <summary>Functions.Local's timer trigger, on a controlled clock.</summary>
public sealed class CronTimerTests
{
    [Fact]
    public async Task Timer_RunsAtEachOccurrence_AndKeepsGoingAfterAFailedRun()
    {
        var time = new TimerWatchingTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 30, TimeSpan.Zero));
        var runs = Channel.CreateUnbounded<DateTimeOffset>();
        var calls = 0;
        using var timer = new CronTimer("Test", CronTimer.Parse("0 */5 * * * *"), _ =>
        {
            runs.Writer.TryWrite(time.GetUtcNow());
            return ++calls == 1 ? throw new InvalidOperationException("first run fails") : Task.CompletedTask;
        }, time, NullLogger<CronTimer>.Instance);
        await timer.StartAsync(CancellationToken.None);

        await time.TimerCreated.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromMinutes(5));
        var first = await runs.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await time.TimerCreated.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromMinutes(5));
        var second = await runs.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await timer.StopAsync(CancellationToken.None);

        Assert.Equal(new DateTimeOffset(2025, 6, 1, 12, 5, 30, TimeSpan.Zero), first);
        Assert.Equal(new DateTimeOffset(2025, 6, 1, 12, 10, 30, TimeSpan.Zero), second);
    }

    [Theory]
    [InlineData("0 17 * * * *", 17)]
    [InlineData("17 * * * *", 17)]
    public void Parse_TakesTheHostsSixFieldFormAndTheClassicFiveFieldForm(string expression, int minute)
    {
        var next = CronTimer.Parse(expression).GetNextOccurrence(new DateTime(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc));

        Assert.Equal(new DateTime(2025, 6, 1, 12, minute, 0, DateTimeKind.Utc), next);
    }
}

/// <summary>Says when a timer is created, so a test advances the clock only once the code under test is waiting on it.</summary>
internal sealed class TimerWatchingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    public Channel<bool> TimerCreated { get; } = Channel.CreateUnbounded<bool>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        TimerCreated.Writer.TryWrite(true);
        return timer;
    }
}
