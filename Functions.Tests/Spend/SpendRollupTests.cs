using Azure.Data.Tables;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Spend;

[Collection(AzuriteCollection.Name)]
public sealed class SpendRollupTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Run_Twice_WritesTheSameRows()
    {
        var time = CoreServices.Clock("2026-03-10T18:00:00Z");
        await using var services = await CoreServices.StartAsync(azurite, time);
        await RecordAsync(services, "2026-03-10T09:00:00Z", "alice", "gpt-4.1-mini", new TokenUsage(100, 20, 50));
        await RecordAsync(services, "2026-03-10T10:00:00Z", "alice", "gpt-4.1-mini", new TokenUsage(300, 0, 10));
        await RecordAsync(services, "2026-03-10T11:00:00Z", "bob", "gpt-4o", new TokenUsage(1000, 0, 1000));
        var rollup = services.GetRequiredService<SpendRollup>();

        await rollup.RunAsync(CancellationToken.None);
        var first = await RollupEntitiesAsync(services);
        await rollup.RunAsync(CancellationToken.None);
        var second = await RollupEntitiesAsync(services);

        Assert.Equal(3, first.Count); // the day's total, alice on gpt-4.1-mini, bob on gpt-4o
        Assert.Equal(first, second);
        var alice = first.Single(row => row.GetValueOrDefault("Caller") as string == "alice");
        Assert.Equal(2L, alice["Calls"]);
        Assert.Equal(400L, alice["InputTokens"]);
        Assert.Equal(20L, alice["CachedInputTokens"]);
        Assert.Equal(60L, alice["OutputTokens"]);
    }

    [Fact]
    public async Task Run_AfterThreeDaysWithoutARun_RollsUpEachMissedDay()
    {
        var time = CoreServices.Clock("2026-03-10T02:00:00Z");
        await using var services = await CoreServices.StartAsync(azurite, time);
        var rollup = services.GetRequiredService<SpendRollup>();
        await rollup.RunAsync(CancellationToken.None);
        await RecordAsync(services, "2026-03-10T08:00:00Z", "alice", "gpt-4.1-mini", new TokenUsage(1000, 0, 0));   // 400 µ$
        await RecordAsync(services, "2026-03-11T08:00:00Z", "alice", "gpt-4.1-mini", new TokenUsage(2000, 0, 0));   // 800 µ$
        await RecordAsync(services, "2026-03-12T08:00:00Z", "bob", "gpt-4.1-mini", new TokenUsage(0, 0, 1000));     // 1600 µ$

        time.SetUtcNow(new DateTimeOffset(2026, 3, 13, 2, 0, 0, TimeSpan.Zero));
        var run = await rollup.RunAsync(CancellationToken.None);

        Assert.Equal(new DateOnly(2026, 3, 10), run.From);
        Assert.Equal(4, run.DaysRolled); // the three missed days, and today so far
        Assert.Equal(new DateOnly(2026, 3, 12), run.ClosedThrough);
        var totals = (await services.GetRequiredService<SpendRollups>().ReadAsync(new(2026, 3, 10), new(2026, 3, 12), CancellationToken.None))
            .Where(row => row.IsDayTotal).ToDictionary(row => row.Day, row => row.Totals.CostMicros);
        Assert.Equal(new Dictionary<DateOnly, long> { [new(2026, 3, 10)] = 400, [new(2026, 3, 11)] = 800, [new(2026, 3, 12)] = 1600 }, totals);
        Assert.Equal(new DateOnly(2026, 3, 12), (await services.GetRequiredService<SpendRollups>().GetWatermarkAsync(CancellationToken.None))?.ClosedThrough);
    }

    [Fact]
    public async Task DayTotals_EqualTheLedgerSumExactly()
    {
        var time = CoreServices.Clock("2026-03-10T23:00:00Z");
        await using var services = await CoreServices.StartAsync(azurite, time);
        var ledger = services.GetRequiredService<SpendLedger>();
        string[] models = ["gpt-4.1-mini-2025-04-14", "gpt-4.1-nano", "gpt-4o", "someone-elses-model"];
        var expected = SpendTotals.Zero;
        for (var i = 0; i < 300; i++)
        {
            var usage = new TokenUsage(1 + i * 37 % 5000, i * 13 % 1000 % (1 + i * 37 % 5000), 1 + i * 53 % 3000);
            var job = SpendLedgerTests.RunningJob(1, "caller" + i % 120, createdAt: new DateTimeOffset(2026, 3, 10, 0, 0, 0, TimeSpan.Zero).AddMinutes(i));
            var cost = await ledger.RecordCallAsync(job, SpendLedgerTests.Result(models[i % models.Length], usage));
            expected = expected.Add(new LedgerEntry(LedgerEntry.Call, job.Caller, "", "", usage, cost, default));
        }
        await ledger.RecordSavingAsync("caller1", "gpt-4.1-mini", new TokenUsage(500, 0, 500), "hit");

        await services.GetRequiredService<SpendRollup>().RunAsync(CancellationToken.None);

        var rows = await services.GetRequiredService<SpendRollups>().ReadAsync(new(2026, 3, 10), new(2026, 3, 10), CancellationToken.None);
        var total = Assert.Single(rows, row => row.IsDayTotal).Totals;
        var perCallerAndModel = rows.Where(row => !row.IsDayTotal).Aggregate(SpendTotals.Zero, (sum, row) => sum.Add(row.Totals));
        Assert.Equal(expected with { CacheHits = 1, SavedMicros = 1_000 }, total); // the saving: 500 × 0.40 + 500 × 1.60
        Assert.Equal(total, perCallerAndModel);
        Assert.True(rows.Count > 100, "enough caller-and-model rows to need more than one batch");
    }

    [Fact]
    public async Task LateEntry_WithinTheGrace_IsRolledIntoTheDayItStarted()
    {
        var time = CoreServices.Clock("2026-03-11T00:10:00Z");
        await using var services = await CoreServices.StartAsync(azurite, time);
        var rollup = services.GetRequiredService<SpendRollup>();
        await RecordAsync(services, "2026-03-10T22:00:00Z", "alice", "gpt-4.1-mini", new TokenUsage(1000, 0, 0));

        var early = await rollup.RunAsync(CancellationToken.None);
        // A call that started at 23:59:59 is recorded after midnight, after that run.
        await RecordAsync(services, "2026-03-10T23:59:59Z", "alice", "gpt-4.1-mini", new TokenUsage(1000, 0, 0));
        time.SetUtcNow(new DateTimeOffset(2026, 3, 11, 1, 10, 0, TimeSpan.Zero));
        var late = await rollup.RunAsync(CancellationToken.None);

        Assert.Equal(new DateOnly(2026, 3, 9), early.ClosedThrough);
        Assert.Equal(new DateOnly(2026, 3, 10), late.ClosedThrough);
        var total = (await services.GetRequiredService<SpendRollups>().ReadAsync(new(2026, 3, 10), new(2026, 3, 10), CancellationToken.None))
            .Single(row => row.IsDayTotal).Totals;
        Assert.Equal(800, total.CostMicros);
    }

    private static Task RecordAsync(IServiceProvider services, string startedAt, string caller, string model, TokenUsage usage)
    {
        var started = DateTimeOffset.Parse(startedAt, System.Globalization.CultureInfo.InvariantCulture);
        return services.GetRequiredService<SpendLedger>().RecordCallAsync(SpendLedgerTests.RunningJob(1, caller, started),
            SpendLedgerTests.Result(model, usage));
    }

    /// <summary>Every rollup row's key and values, without the storage's own timestamps and ETags.</summary>
    private static async Task<List<Dictionary<string, object>>> RollupEntitiesAsync(IServiceProvider services)
    {
        var rows = new List<Dictionary<string, object>>();
        await foreach (var entity in services.GetRequiredService<SpendTable>().Client
                           .QueryAsync<TableEntity>("PartitionKey ge 'rollup-0' and PartitionKey le 'rollup-9'"))
        {
            rows.Add(entity.Where(property => property.Key is not ("odata.etag" or "Timestamp"))
                .ToDictionary(property => property.Key, property => property.Value));
        }
        return rows;
    }
}
