using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Functions.Tests.Spend;

/// <summary>
/// Allowances, watched at the storage pipeline: an interactive call takes its worst case from what its instance holds
/// ahead, so one write covers several calls; the calls are charged their real cost once; the instances together still
/// admit exactly what the budget holds; and what an instance holds but did not use is given back when it stops. The
/// request is BudgetReservationsTests' (a worst case of 168 micro-dollars).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BudgetAllowancesTests(AzuriteFixture azurite)
{
    private const long WorstCase = BudgetReservationsTests.WorstCase;
    private static readonly BudgetWindow Day = BudgetReservationsTests.Day;

    [Fact]
    public async Task CallsSettledHere_ShareOneWriteBeforeTheirCalls_AndAreChargedOnceAtRealCost()
    {
        var storage = new WatchedStorage(holdFirstWrite: false);
        var clock = CoreServices.Clock("2026-03-10T12:00:00Z");
        await using var services = await StartAsync(storage, clock, ("Budgets:GlobalDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var jobs = Enumerable.Range(0, 4).Select(_ => BudgetReservationsTests.NewJob("alice") with { ModelCalls = 1 }).ToList();

        foreach (var job in jobs)
        {
            Assert.Null(await budgets.ReserveHereAsync(job, CancellationToken.None));
        }
        Assert.Equal(1, storage.Transactions); // the allowance grew once, for 8 calls like these
        Assert.Equal((8 * WorstCase, 0L), await CounterAsync(services, "counter|global"));

        foreach (var job in jobs)
        {
            await budgets.SettleAsync(job, 40, CancellationToken.None);
        }
        await budgets.SettleAsync(jobs[0], 40, CancellationToken.None); // the same attempt again: nothing more

        Assert.Equal((8 * WorstCase - 160, 160L), await CounterAsync(services, "counter|global"));
        Assert.Equal(0, storage.ReservationReads);
        var row = await services.GetRequiredService<BudgetStore>().GetReservationAsync(Day, BudgetReservations.ReservationId(jobs[0]),
            CancellationToken.None);
        Assert.Equal((BudgetReservation.Settled, 40L), (row?.State, row?.SpentMicros));
        // What the instance holds ahead is not spent: the caller is told what is left of the limit.
        Assert.Equal(1_000_000 - 160, services.GetRequiredService<BudgetHeadrooms>().Tightest("alice", BudgetReservationsTests.Now)?.RemainingMicros);

        // No call takes from it for a while: what it holds is given back.
        clock.Advance(BudgetAllowances.IdleFor * 2);
        await CounterReachesAsync(services, (0L, 160L));
    }

    [Fact]
    public async Task TwoInstances_NeverAdmitPastTheBudget_AndWhatOneHoldsIdleIsTheOthersOnceGivenBack()
    {
        // Room for exactly 100 worst cases (16,800 micro-dollars): 80 concurrent calls on each of two instances.
        var table = AzuriteFixture.UniqueName("spend");
        var clock = CoreServices.Clock("2026-03-10T12:00:00Z");
        await using var first = await StartAsync(new WatchedStorage(false), clock, ("Budgets:GlobalDailyUsd", "0.0168"), ("Spend:Table", table));
        await using var second = await StartAsync(new WatchedStorage(false), clock, ("Budgets:GlobalDailyUsd", "0.0168"), ("Spend:Table", table));
        var calls = await CallAsync([first, second], 80);

        // Each instance may end holding up to 8 worst cases it did not need, which the other could not have.
        var admitted = calls.Count(call => call.Outcome is null);
        Assert.InRange(admitted, 100 - 2 * 8, 100);
        Assert.All(calls.Select(call => call.Outcome).OfType<BudgetExceeded>(), refused => Assert.Equal("globalDaily", refused.Budget.Name));

        // The calls are paid for (40 each, the rest of each worst case freed), the first instance stops, the second idles:
        // what both held ahead is given back, and the second admits exactly what is left.
        await SettleAsync(calls);
        await first.GetRequiredService<BudgetAllowances>().StopAsync(CancellationToken.None);
        clock.Advance(BudgetAllowances.IdleFor * 2);
        await CounterReachesAsync(first, (0L, admitted * 40L));
        var more = await CallAsync([second], 120);
        var left = (16_800 - admitted * 40) / WorstCase;
        Assert.Equal(left, more.Count(call => call.Outcome is null));

        await SettleAsync(more);
        await second.GetRequiredService<BudgetAllowances>().StopAsync(CancellationToken.None);
        Assert.Equal((0L, (admitted + left) * 40), await CounterAsync(first, "counter|global"));
    }

    [Fact]
    public async Task CallsThatEndAfterTheHostBeganToStop_GiveBackWhatTheyFreed()
    {
        await using var services = await StartAsync(new WatchedStorage(false), CoreServices.Clock("2026-03-10T12:00:00Z"),
            ("Budgets:GlobalDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var paid = BudgetReservationsTests.NewJob("alice") with { ModelCalls = 1 };
        var unpaid = BudgetReservationsTests.NewJob("alice");
        Assert.Null(await budgets.ReserveHereAsync(paid, CancellationToken.None));
        Assert.Null(await budgets.ReserveHereAsync(unpaid, CancellationToken.None));

        await services.GetRequiredService<BudgetAllowances>().StopAsync(CancellationToken.None);
        Assert.Equal((2 * WorstCase, 0L), await CounterAsync(services, "counter|global")); // the two calls' holds, nothing idle
        await budgets.SettleAsync(paid, 40, CancellationToken.None);
        await budgets.ReleaseAsync(unpaid, CancellationToken.None);

        await CounterReachesAsync(services, (0L, 40L));
    }

    [Fact]
    public async Task AGiveBackWhoseReplyIsLost_AndThatIsSentAgain_IsAppliedOnce()
    {
        var storage = new WatchedStorage(holdFirstWrite: false);
        await using var services = await StartAsync(storage, CoreServices.Clock("2026-03-10T12:00:00Z"), ("Budgets:GlobalDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        Assert.Null(await budgets.ReserveHereAsync(BudgetReservationsTests.NewJob("alice"), CancellationToken.None));
        Assert.Null(await budgets.ReserveHereAsync(BudgetReservationsTests.NewJob("alice"), CancellationToken.None));

        storage.LoseNextReply();
        await services.GetRequiredService<BudgetAllowances>().StopAsync(CancellationToken.None); // gives back the 6 not taken

        Assert.Equal((2 * WorstCase, 0L), await CounterAsync(services, "counter|global"));
    }

    [Fact]
    public async Task AFallbackThatDoesNotFit_LeavesTheCallItsHold_SoWhatItPaidIsCounted()
    {
        // Room for the call (168) but not for its fallback on gpt-4.1 (816).
        await using var services = await StartAsync(new WatchedStorage(false), CoreServices.Clock("2026-03-10T12:00:00Z"),
            ("Budgets:GlobalDailyUsd", "0.0005"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var job = BudgetReservationsTests.NewJob("alice") with { ModelCalls = 1 };
        Assert.Null(await budgets.ReserveHereAsync(job, CancellationToken.None));

        var refused = await budgets.RecheckAsync(job with { Request = job.Request with { Model = "gpt-4.1" } }, CancellationToken.None);
        await budgets.SettleAsync(job, 40, CancellationToken.None); // what the first model's cut stream cost
        await services.GetRequiredService<BudgetAllowances>().StopAsync(CancellationToken.None);

        Assert.Equal("globalDaily", refused?.Budget.Name);
        Assert.Equal((0L, 40L), await CounterAsync(services, "counter|global"));
    }

    [Fact]
    public async Task AGrowTheGlobalBudgetRefuses_GivesBackWhatTheOtherCallersAllowancesHoldIdle()
    {
        // Room for 100 worst cases in all, each caller's own budget large: 12 callers' allowances hold 8 each, 1 taken.
        await using var services = await StartAsync(new WatchedStorage(false), CoreServices.Clock("2026-03-10T12:00:00Z"),
            ("Budgets:GlobalDailyUsd", "0.0168"), ("Budgets:PerCallerDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        foreach (var caller in Enumerable.Range(0, 12))
        {
            Assert.Null(await budgets.ReserveHereAsync(BudgetReservationsTests.NewJob("caller" + caller), CancellationToken.None));
        }
        Assert.Equal((12 * 8 * WorstCase, 0L), await CounterAsync(services, "counter|global"));

        var outcomes = new List<BudgetExceeded?>();
        for (var i = 0; i < 100; i++)
        {
            outcomes.Add(await budgets.ReserveHereAsync(BudgetReservationsTests.NewJob("caller12"), CancellationToken.None));
        }

        Assert.Equal(100 - 12, outcomes.Count(outcome => outcome is null));
        Assert.Equal((100 * WorstCase, 0L), await CounterAsync(services, "counter|global"));
    }

    private static Task SettleAsync(IEnumerable<(Job Job, BudgetReservations Budgets, BudgetExceeded? Outcome)> calls) =>
        Task.WhenAll(calls.Where(call => call.Outcome is null).Select(call => call.Budgets.SettleAsync(call.Job, 40, CancellationToken.None)));

    private static async Task<IReadOnlyList<(Job Job, BudgetReservations Budgets, BudgetExceeded? Outcome)>> CallAsync(
        IEnumerable<ServiceProvider> instances, int each)
    {
        var calls = instances.SelectMany(services => Enumerable.Range(0, each).Select(_ =>
        {
            var job = BudgetReservationsTests.NewJob("alice") with { ModelCalls = 1 };
            var budgets = services.GetRequiredService<BudgetReservations>();
            return (Job: job, Budgets: budgets, Outcome: budgets.ReserveHereAsync(job, CancellationToken.None));
        })).ToList();
        await Task.WhenAll(calls.Select(call => call.Outcome));
        return [.. calls.Select(call => (call.Job, call.Budgets, call.Outcome.Result))];
    }

    [Fact]
    public async Task ARefusedCall_AndOneThatIsNotPaidFor_GiveTheirHoldsBackWithoutAWrite()
    {
        var storage = new WatchedStorage(holdFirstWrite: false);
        await using var services = await StartAsync(storage, CoreServices.Clock("2026-03-10T12:00:00Z"), ("Budgets:GlobalDailyUsd", "1"),
            ("Budgets:PerCallerDailyUsd", "0.0005"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var jobs = Enumerable.Range(0, 3).Select(_ => BudgetReservationsTests.NewJob("alice")).ToList();

        // Alice's own limit (500) holds 2 worst cases: a tenth of it is less than one, so each grow is one call's.
        Assert.Null(await budgets.ReserveHereAsync(jobs[0], CancellationToken.None));
        Assert.Null(await budgets.ReserveHereAsync(jobs[1], CancellationToken.None));
        Assert.Equal("perCallerDaily", (await budgets.ReserveHereAsync(jobs[2], CancellationToken.None))?.Budget.Name);
        var writes = storage.Transactions;
        await budgets.ReleaseAsync(jobs[0], CancellationToken.None);

        Assert.Equal(writes, storage.Transactions);
        Assert.Null(await budgets.ReserveHereAsync(BudgetReservationsTests.NewJob("alice"), CancellationToken.None)); // in the hold given back
        Assert.Equal(writes, storage.Transactions);
    }

    private Task<ServiceProvider> StartAsync(WatchedStorage storage, TimeProvider clock, params (string Key, string Value)[] settings) =>
        CoreServices.StartAsync(azurite, clock,
            settings.ToDictionary(setting => setting.Key, setting => (string?)setting.Value),
            after: services => services.AddSingleton(storage.Client(azurite.ConnectionString)));

    /// <summary>Polls the global counter until it stands at <paramref name="expected"/> (a give-back the code makes by itself), with a generous bound.</summary>
    private static async Task CounterReachesAsync(IServiceProvider services, (long Reserved, long Spent) expected)
    {
        for (var i = 0; i < 500 && await CounterAsync(services, "counter|global") != expected; i++)
        {
            await Task.Delay(10);
        }
        Assert.Equal(expected, await CounterAsync(services, "counter|global"));
    }

    private static Task<(long Reserved, long Spent)> CounterAsync(IServiceProvider services, string key) =>
        BudgetReservationsTests.CounterAsync(services, Day, key);
}
