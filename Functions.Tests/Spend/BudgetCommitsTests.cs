using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Functions.Tests.Spend;

/// <summary>
/// Group commit of budget changes, watched at the storage pipeline: concurrent changes of a window share one
/// transaction, a batch admits exactly what fits (what it frees first), and a reservation made here is settled
/// without reading its row. The request is BudgetReservationsTests' (a worst case of 168 micro-dollars).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BudgetCommitsTests(AzuriteFixture azurite)
{
    private const long WorstCase = BudgetReservationsTests.WorstCase;
    private static readonly BudgetWindow Day = BudgetReservationsTests.Day;

    [Fact]
    public async Task ConcurrentReservations_WhileAWriteIsInFlight_GoTogetherInTheNextTransaction()
    {
        var storage = new WatchedStorage(holdFirstWrite: true);
        await using var services = await StartAsync(storage, ("Budgets:GlobalDailyUsd", "1"), ("Budgets:PerCallerDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();

        var first = budgets.ReserveAsync(NewJob("caller0"), CancellationToken.None);
        await storage.FirstWriteEntered;
        var others = Enumerable.Range(1, 29).Select(i => budgets.ReserveAsync(NewJob("caller" + i % 5), CancellationToken.None)).ToList();
        await WaitForAsync(() => services.GetRequiredService<BudgetCommits>().Waiting(Day) == 29);
        storage.ReleaseHeldWrite();
        var outcomes = await Task.WhenAll(others.Prepend(first));

        Assert.All(outcomes, Assert.Null);
        Assert.Equal(2, storage.Transactions); // the first alone, the 29 that queued behind it in one
        Assert.Equal((30 * WorstCase, 0L), await CounterAsync(services, "counter|global"));
        Assert.Equal((6 * WorstCase, 0L), await CounterAsync(services, "counter|caller|caller1"));
    }

    [Fact]
    public async Task ABatch_FreesRoomFirst_ThenAdmitsExactlyWhatFits()
    {
        // Room for 10 worst cases (1,680 ≤ 1,700), all held. Then, in one batch, 4 settlements at 40 and 10 new
        // reservations: settled first, 5 held and 200 spent leave 660, room for exactly 3 more (504 ≤ 660 < 672).
        var storage = new WatchedStorage(holdFirstWrite: false);
        await using var services = await StartAsync(storage, ("Budgets:GlobalDailyUsd", "0.0017"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var held = Enumerable.Range(0, 10).Select(_ => NewJob("alice") with { ModelCalls = 1 }).ToList();
        foreach (var job in held)
        {
            Assert.Null(await budgets.ReserveAsync(job, CancellationToken.None));
        }

        storage.HoldNextWrite();
        var fifth = budgets.SettleAsync(held[4], 40, CancellationToken.None);
        await storage.FirstWriteEntered;
        var settles = held.Take(4).Select(job => budgets.SettleAsync(job, 40, CancellationToken.None)).ToList();
        var reserves = Enumerable.Range(0, 10).Select(_ => budgets.ReserveAsync(NewJob("bob"), CancellationToken.None)).ToList();
        await WaitForAsync(() => services.GetRequiredService<BudgetCommits>().Waiting(Day) == 14);
        storage.ReleaseHeldWrite();
        await Task.WhenAll(settles.Append(fifth));
        var outcomes = await Task.WhenAll(reserves);

        Assert.Equal(3, outcomes.Count(outcome => outcome is null));
        Assert.All(outcomes.OfType<BudgetExceeded>(), refused => Assert.Equal("globalDaily", refused.Budget.Name));
        Assert.Equal((8 * WorstCase, 200L), await CounterAsync(services, "counter|global"));
    }

    [Fact]
    public async Task AReservationMadeHere_IsSettledWithoutReadingItsRow_OneMadeElsewhereIsRead()
    {
        var table = AzuriteFixture.UniqueName("spend");
        var here = new WatchedStorage(holdFirstWrite: false);
        var elsewhere = new WatchedStorage(holdFirstWrite: false);
        await using var first = await StartAsync(here, ("Budgets:GlobalDailyUsd", "1"), ("Spend:Table", table));
        await using var second = await StartAsync(elsewhere, ("Budgets:GlobalDailyUsd", "1"), ("Spend:Table", table));
        var local = NewJob("alice") with { ModelCalls = 1 };
        var remote = NewJob("bob") with { ModelCalls = 1 };
        await first.GetRequiredService<BudgetReservations>().ReserveAsync(local, CancellationToken.None);
        await first.GetRequiredService<BudgetReservations>().ReserveAsync(remote, CancellationToken.None);

        await first.GetRequiredService<BudgetReservations>().SettleAsync(local, 40, CancellationToken.None);
        await second.GetRequiredService<BudgetReservations>().SettleAsync(remote, 30, CancellationToken.None);

        Assert.Equal(0, here.ReservationReads);
        Assert.Equal(2, elsewhere.ReservationReads); // the day's row, and the month's (none) that it cannot know is absent
        Assert.Equal((0L, 70L), await CounterAsync(first, "counter|global"));
    }

    [Fact]
    public async Task AReceiptMovedByAnotherInstance_IsReadAgain_AndNothingIsAppliedTwice()
    {
        var table = AzuriteFixture.UniqueName("spend");
        await using var first = await StartAsync(new WatchedStorage(false), ("Budgets:GlobalDailyUsd", "1"), ("Spend:Table", table));
        await using var second = await StartAsync(new WatchedStorage(false), ("Budgets:GlobalDailyUsd", "1"), ("Spend:Table", table));
        var job = NewJob("alice") with { ModelCalls = 1 };
        var submitter = first.GetRequiredService<BudgetReservations>();
        await submitter.ReserveAsync(job, CancellationToken.None);

        await second.GetRequiredService<BudgetReservations>().SettleAsync(job, 40, CancellationToken.None); // the worker elsewhere
        await submitter.ReleaseAsync(job, CancellationToken.None); // by its receipt still held: the write finds the row moved
        await submitter.SettleAsync(job, 40, CancellationToken.None); // the same attempt again

        Assert.Equal((0L, 40L), await CounterAsync(first, "counter|global"));
        Assert.Equal(BudgetReservation.Settled,
            (await first.GetRequiredService<BudgetStore>().GetReservationAsync(Day, BudgetReservations.ReservationId(job), CancellationToken.None))?.State);
    }

    private Task<ServiceProvider> StartAsync(WatchedStorage storage, params (string Key, string Value)[] settings) =>
        CoreServices.StartAsync(azurite, CoreServices.Clock("2026-03-10T12:00:00Z"),
            settings.ToDictionary(setting => setting.Key, setting => (string?)setting.Value),
            after: services => services.AddSingleton(storage.Client(azurite.ConnectionString)));

    private static Job NewJob(string caller) => BudgetReservationsTests.NewJob(caller);

    private static Task<(long Reserved, long Spent)> CounterAsync(IServiceProvider services, string key) =>
        BudgetReservationsTests.CounterAsync(services, Day, key);

    /// <summary>Polls a condition the code under test reaches by itself (changes queueing), with a generous bound.</summary>
    internal static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition());
    }
}
