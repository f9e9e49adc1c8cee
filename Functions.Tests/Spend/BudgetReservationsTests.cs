using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Functions.Tests.Spend;

/// <summary>
/// The request used throughout: one user message "hi" with maxTokens 100 on gpt-4.1-mini, so its worst case is
/// (3 + 4 + 1 + 1 = 9 tokens, + 2 % → 10, + 8 = 18) × 0.40 + 100 × 1.60 = 7.2 + 160 = 167.2, reserved as 168
/// micro-dollars (see TokenCounter.EstimateInputTokens).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BudgetReservationsTests(AzuriteFixture azurite)
{
    internal const long WorstCase = 168;
    internal static readonly DateTimeOffset Now = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    internal static readonly BudgetWindow Day = BudgetWindow.Of(BudgetPeriod.Daily, Now);
    private static readonly BudgetWindow Month = BudgetWindow.Of(BudgetPeriod.Monthly, Now);

    [Fact]
    public async Task Reserve_WithinBudget_HoldsTheWorstCaseOnEveryConfiguredCounter()
    {
        await using var services = await StartAsync(("Budgets:GlobalDailyUsd", "1"), ("Budgets:PerCallerMonthlyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();

        var exceeded = await budgets.ReserveAsync(NewJob("alice"), CancellationToken.None);

        Assert.Null(exceeded);
        Assert.Equal((WorstCase, 0L), await CounterAsync(services, Day, "counter|global"));
        Assert.Equal((WorstCase, 0L), await CounterAsync(services, Month, "counter|caller|alice"));
        Assert.Null(await services.GetRequiredService<BudgetStore>().GetCounterAsync(Day, "counter|caller|alice", CancellationToken.None));
    }

    [Fact]
    public async Task Reserve_OverTheCallersBudget_SaysWhichAndHoldsNothing()
    {
        // Room for two reservations per caller (2 × 168 = 336 ≤ 400 < 504), plenty globally.
        await using var services = await StartAsync(("Budgets:PerCallerDailyUsd", "0.0004"), ("Budgets:GlobalDailyUsd", "10"));
        var budgets = services.GetRequiredService<BudgetReservations>();

        Assert.Null(await budgets.ReserveAsync(NewJob("alice"), CancellationToken.None));
        Assert.Null(await budgets.ReserveAsync(NewJob("alice"), CancellationToken.None));
        var exceeded = await budgets.ReserveAsync(NewJob("alice"), CancellationToken.None);
        var bob = await budgets.ReserveAsync(NewJob("bob"), CancellationToken.None);

        Assert.NotNull(exceeded);
        Assert.Equal("perCallerDaily", exceeded.Budget.Name);
        Assert.Equal(new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero), exceeded.ResetsAt);
        Assert.Null(bob);
        Assert.Equal((2 * WorstCase, 0L), await CounterAsync(services, Day, "counter|caller|alice"));
        Assert.Equal((3 * WorstCase, 0L), await CounterAsync(services, Day, "counter|global"));
    }

    [Fact]
    public async Task Reserve_OverTheMonthlyBudget_GivesBackWhatTheDayTook()
    {
        await using var services = await StartAsync(("Budgets:GlobalDailyUsd", "1"), ("Budgets:GlobalMonthlyUsd", "0.0001"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var job = NewJob("alice");

        var exceeded = await budgets.ReserveAsync(job, CancellationToken.None);

        Assert.Equal("globalMonthly", exceeded?.Budget.Name);
        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), exceeded?.ResetsAt);
        Assert.Equal((0L, 0L), await CounterAsync(services, Day, "counter|global"));
        Assert.Equal(BudgetReservation.Released,
            (await services.GetRequiredService<BudgetStore>().GetReservationAsync(Day, BudgetReservations.ReservationId(job), CancellationToken.None))?.State);
    }

    [Fact]
    public async Task SubmitRetriedWithTheSameJobId_AfterItsHoldWasReleased_HoldsAgain()
    {
        // An Idempotency-Key submit that answered 503 released its hold; the client retries: same job id, new submit.
        await using var services = await StartAsync(("Budgets:GlobalDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var failedSubmit = NewJob("alice");
        Assert.Null(await budgets.ReserveAsync(failedSubmit, CancellationToken.None));
        var (held, _) = await CounterAsync(services, Day, "counter|global");
        await budgets.ReleaseAsync(failedSubmit, CancellationToken.None);

        var retry = failedSubmit with { CreatedAt = failedSubmit.CreatedAt.AddSeconds(2) };
        Assert.Null(await budgets.ReserveAsync(retry, CancellationToken.None));

        Assert.True(held > 0);
        Assert.Equal((held, 0L), await CounterAsync(services, Day, "counter|global"));
    }

    [Fact]
    public async Task Settle_ReplacesTheReservationWithTheRealCost_Once()
    {
        await using var services = await StartAsync(("Budgets:GlobalDailyUsd", "1"), ("Budgets:PerCallerDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var job = NewJob("alice") with { ModelCalls = 1 };
        await budgets.ReserveAsync(job, CancellationToken.None);

        await budgets.SettleAsync(job, 40, CancellationToken.None);
        await budgets.SettleAsync(job, 40, CancellationToken.None); // a redelivery of the same attempt

        Assert.Equal((0L, 40L), await CounterAsync(services, Day, "counter|global"));
        Assert.Equal((0L, 40L), await CounterAsync(services, Day, "counter|caller|alice"));
    }

    [Fact]
    public async Task Settle_OfALaterAttempt_AddsThatAttemptsCost()
    {
        await using var services = await StartAsync(("Budgets:GlobalDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var job = NewJob("alice") with { ModelCalls = 1 };
        await budgets.ReserveAsync(job, CancellationToken.None);

        await budgets.SettleAsync(job, 40, CancellationToken.None);
        await budgets.SettleAsync(job with { ModelCalls = 2 }, 30, CancellationToken.None);

        Assert.Equal((0L, 70L), await CounterAsync(services, Day, "counter|global"));
    }

    [Fact]
    public async Task Release_GivesTheReservationBack_AndDoesNothingAfterASettle()
    {
        await using var services = await StartAsync(("Budgets:GlobalDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();
        var released = NewJob("alice") with { ModelCalls = 1 };
        var settled = NewJob("alice") with { ModelCalls = 1 };
        await budgets.ReserveAsync(released, CancellationToken.None);
        await budgets.ReserveAsync(settled, CancellationToken.None);

        await budgets.ReleaseAsync(released, CancellationToken.None);
        await budgets.ReleaseAsync(released, CancellationToken.None);
        await budgets.SettleAsync(settled, 25, CancellationToken.None);
        await budgets.ReleaseAsync(settled, CancellationToken.None);

        Assert.Equal((0L, 25L), await CounterAsync(services, Day, "counter|global"));
    }

    [Fact]
    public async Task Reserve_WithNoBudgets_WritesNothing()
    {
        await using var services = await StartAsync();
        var job = NewJob("alice");

        Assert.Null(await services.GetRequiredService<BudgetReservations>().ReserveAsync(job, CancellationToken.None));
        Assert.Null(await services.GetRequiredService<BudgetStore>().GetReservationAsync(Day, BudgetReservations.ReservationId(job), CancellationToken.None));
    }

    [Fact]
    public async Task ConcurrentReservations_NeverTakeABudgetPastItsLimit()
    {
        // Room for exactly 10 worst cases: 10 × 168 = 1680 ≤ 1700 < 1848.
        await using var services = await StartAsync(("Budgets:GlobalDailyUsd", "0.0017"), ("Budgets:PerCallerDailyUsd", "1"));
        var budgets = services.GetRequiredService<BudgetReservations>();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => budgets.ReserveAsync(NewJob("caller" + i % 4), CancellationToken.None))));

        Assert.Equal(10, outcomes.Count(outcome => outcome is null));
        Assert.Equal((10 * WorstCase, 0L), await CounterAsync(services, Day, "counter|global"));
    }

    [Fact]
    public async Task AnInstancesCopyOfTheCounters_MovedByAnotherInstance_NeverAdmitsPastTheLimit()
    {
        // Room for three reservations (3 × 168 = 504 ≤ 600 < 672); two instances share the spend table.
        var table = AzuriteFixture.UniqueName("spend");
        await using var first = await StartAsync(("Budgets:GlobalDailyUsd", "0.0006"), ("Spend:Table", table));
        await using var second = await StartAsync(("Budgets:GlobalDailyUsd", "0.0006"), ("Spend:Table", table));
        var a = first.GetRequiredService<BudgetReservations>();
        var b = second.GetRequiredService<BudgetReservations>();

        Assert.Null(await a.ReserveAsync(NewJob("alice"), CancellationToken.None));
        Assert.Null(await a.ReserveAsync(NewJob("alice"), CancellationToken.None)); // written on top of its own copy
        Assert.Null(await b.ReserveAsync(NewJob("bob"), CancellationToken.None)); // the copy in the first is now stale
        var fourth = await a.ReserveAsync(NewJob("alice"), CancellationToken.None);

        // By its stale copy (two held) the first would fit a third; the write's ETag check sends it back to storage.
        Assert.NotNull(fourth);
        Assert.Equal((3 * WorstCase, 0L), await CounterAsync(first, Day, "counter|global"));
    }

    private Task<Microsoft.Extensions.DependencyInjection.ServiceProvider> StartAsync(params (string Key, string Value)[] settings) =>
        CoreServices.StartAsync(azurite, CoreServices.Clock("2026-03-10T12:00:00Z"),
            settings.ToDictionary(setting => setting.Key, setting => (string?)setting.Value));

    internal static Job NewJob(string caller) =>
        new(JobIds.New(TimeProvider.System), caller, JobStatus.Queued,
            new ChatRequest([new ChatMessage("user", "hi")], "gpt-4.1-mini", null, 100), Now);

    internal static async Task<(long Reserved, long Spent)> CounterAsync(IServiceProvider services, BudgetWindow window, string key)
    {
        var counter = await services.GetRequiredService<BudgetStore>().GetCounterAsync(window, key, CancellationToken.None);
        return counter is null ? (0, 0) : (counter.ReservedMicros, counter.SpentMicros);
    }
}
