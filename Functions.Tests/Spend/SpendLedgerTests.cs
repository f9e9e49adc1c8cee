using Azure.Data.Tables;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Functions.Tests.Spend;

[Collection(AzuriteCollection.Name)]
public sealed class SpendLedgerTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Started = new(2026, 3, 10, 23, 59, 30, TimeSpan.Zero);

    [Fact]
    public async Task RecordCall_TwiceForTheSameJobAndAttempt_WritesOneRow()
    {
        // The second write comes after midnight: it must still find the first one's key.
        var time = CoreServices.Clock("2026-03-10T23:59:50Z");
        await using var services = await CoreServices.StartAsync(azurite, time);
        var ledger = services.GetRequiredService<SpendLedger>();
        var job = RunningJob(attempt: 1);
        var result = Result("gpt-4.1-mini-2025-04-14", new TokenUsage(2000, 1000, 3000));

        var first = await ledger.RecordCallAsync(job, result);
        time.Advance(TimeSpan.FromMinutes(1));
        var second = await ledger.RecordCallAsync(job, result);

        var rows = await AllRowsAsync(services);
        var row = Assert.Single(rows);
        Assert.Equal(5_300, first);
        Assert.Equal(first, second);
        Assert.Equal("ledger-20260310", row.PartitionKey);
        Assert.Equal($"call|{job.Id}|001", row.RowKey);
        Assert.Equal("alice", row.GetString("Caller"));
        Assert.Equal("gpt-4.1-mini-2025-04-14", row.GetString("Model"));
        Assert.Equal("gpt-4.1-mini", row.GetString("PricedAs"));
        Assert.Equal(2000, row.GetInt32("InputTokens"));
        Assert.Equal(1000, row.GetInt32("CachedInputTokens"));
        Assert.Equal(3000, row.GetInt32("OutputTokens"));
        Assert.Equal(5_300, row.GetInt64("CostMicros"));
        Assert.Equal(job.Id, row.GetString("JobId"));
        Assert.Equal(1, row.GetInt32("Attempt"));
    }

    [Fact]
    public async Task ConcurrentCalls_WhileAnInsertIsInFlight_GoInOneTransaction_AndARepeatAmongThemIsWrittenRowByRow()
    {
        var storage = new WatchedStorage(holdFirstWrite: true);
        await using var services = await CoreServices.StartAsync(azurite, CoreServices.Clock("2026-03-10T12:00:00Z"),
            after: added => added.AddSingleton(storage.Client(azurite.ConnectionString)));
        var ledger = services.GetRequiredService<SpendLedger>();
        var result = Result("gpt-4.1-mini", new TokenUsage(10, 0, 10));
        var repeated = RunningJob(attempt: 1);

        var first = ledger.RecordCallAsync(repeated, result);
        await storage.FirstWriteEntered;
        var others = Enumerable.Range(0, 20).Select(_ => ledger.RecordCallAsync(RunningJob(attempt: 1), result)).ToList();
        await BudgetCommitsTests.WaitForAsync(() => Waiting(ledger) == 20);
        storage.ReleaseHeldWrite();
        await Task.WhenAll(others.Append(first));

        Assert.Equal(21, (await AllRowsAsync(services)).Count);
        Assert.Equal((1, 1), (storage.Transactions, storage.Inserts)); // the first alone, the twenty behind it together

        // A redelivery's repeat in a batch: the transaction is refused whole (409), then each row is written alone.
        storage.HoldNextWrite();
        var next = ledger.RecordCallAsync(RunningJob(attempt: 1), result);
        await storage.FirstWriteEntered;
        var behind = new[] { ledger.RecordCallAsync(repeated, result), ledger.RecordCallAsync(RunningJob(attempt: 1), result) };
        await BudgetCommitsTests.WaitForAsync(() => Waiting(ledger) == 2);
        storage.ReleaseHeldWrite();
        await Task.WhenAll(behind.Append(next));

        Assert.Equal(23, (await AllRowsAsync(services)).Count);
        Assert.Equal((2, 4), (storage.Transactions, storage.Inserts));
    }

    [Fact]
    public async Task RecordCall_ForAnotherAttempt_WritesAnotherRow()
    {
        await using var services = await CoreServices.StartAsync(azurite, CoreServices.Clock("2026-03-10T12:00:00Z"));
        var ledger = services.GetRequiredService<SpendLedger>();
        var job = RunningJob(attempt: 1);
        var result = Result("gpt-4.1-mini", new TokenUsage(10, 0, 10));

        await ledger.RecordCallAsync(job, result);
        await ledger.RecordCallAsync(job with { ModelCalls = 2 }, result);

        Assert.Equal(2, (await AllRowsAsync(services)).Count);
    }

    [Fact]
    public async Task RecordSaving_IsPricedAsTheAvoidedCall_AndIdempotentPerId()
    {
        await using var services = await CoreServices.StartAsync(azurite, CoreServices.Clock("2026-03-10T12:00:00Z"));
        var ledger = services.GetRequiredService<SpendLedger>();
        var usage = new TokenUsage(1000, 0, 500);

        var saved = await ledger.RecordSavingAsync("bob", "gpt-4.1-mini", usage, "cache-hit-1");
        await ledger.RecordSavingAsync("bob", "gpt-4.1-mini", usage, "cache-hit-1");
        await ledger.RecordSavingAsync("bob", "gpt-4.1-mini", usage, "cache-hit-2");

        var rows = await AllRowsAsync(services);
        Assert.Equal(1_200, saved); // 1000 × 0.40 + 500 × 1.60
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row => Assert.Equal(LedgerEntry.Saving, row.GetString("Kind")));
        Assert.All(rows, row => Assert.Equal(1_200, row.GetInt64("CostMicros")));
    }

    internal static Job RunningJob(int attempt, string caller = "alice", DateTimeOffset? createdAt = null) =>
        new(JobIds.New(TimeProvider.System), caller, JobStatus.Running,
            new ChatRequest([new ChatMessage("user", "hi")], "gpt-4.1-mini", null, 100),
            createdAt ?? Started.AddSeconds(-5), StartedAt: createdAt ?? Started, ModelCalls: attempt);

    internal static JobResult Result(string model, TokenUsage usage) => new("answer", model, "stop", usage);

    private static async Task<List<TableEntity>> AllRowsAsync(IServiceProvider services)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in services.GetRequiredService<SpendTable>().Client.QueryAsync<TableEntity>("PartitionKey ge 'ledger-' and PartitionKey lt 'ledger.'"))
        {
            rows.Add(row);
        }
        return rows;
    }

    private static int Waiting(SpendLedger ledger) => ledger.Waiting(SpendKeys.Ledger(new DateOnly(2026, 3, 10)));
}
