using System.Text.Json;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Functions.Tests.Spend;
using Microsoft.Extensions.DependencyInjection;

namespace Functions.Tests.Alerts;

[Collection(AzuriteCollection.Name)]
public sealed class DailyDigestTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private LoopbackWebhook webhook = null!;

    public async Task InitializeAsync() => webhook = await LoopbackWebhook.StartAsync();

    public async Task DisposeAsync() => await webhook.DisposeAsync();

    [Fact]
    public async Task Digest_IsSentOnceForYesterday_OnlyWhenYesterdayIsFinal()
    {
        var time = CoreServices.Clock("2026-03-09T15:00:00Z");
        await using var services = await CoreServices.StartAsync(azurite, time,
            new Dictionary<string, string?> { ["Alerts:WebhookUrl"] = webhook.Url("/hook").ToString() });
        var ledger = services.GetRequiredService<SpendLedger>();
        async Task CallAsync(string caller, string model, TokenUsage usage) =>
            await ledger.RecordCallAsync(SpendLedgerTests.RunningJob(1, caller, new DateTimeOffset(2026, 3, 9, 15, 0, 0, TimeSpan.Zero)),
                SpendLedgerTests.Result(model, usage));
        await CallAsync("alice", "gpt-4o", new TokenUsage(1000, 0, 1000));        // 2500 + 10000 = 12500 µ$
        await CallAsync("alice", "gpt-4.1-mini", new TokenUsage(1000, 0, 1000));  // 400 + 1600 = 2000 µ$
        await CallAsync("bob", "gpt-4.1-mini", new TokenUsage(1000, 0, 0));       // 400 µ$
        time.SetUtcNow(new DateTimeOffset(2026, 3, 9, 16, 0, 0, TimeSpan.Zero));
        await ledger.RecordSavingAsync("bob", "gpt-4.1-mini", new TokenUsage(1000, 0, 1000), "hit-1"); // 2000 µ$
        var timer = services.GetRequiredService<SpendRollupHandler>();

        time.SetUtcNow(new DateTimeOffset(2026, 3, 10, 0, 30, 0, TimeSpan.Zero)); // yesterday is not final yet
        await timer.HandleAsync(CancellationToken.None);
        var beforeFinal = webhook.Received.Count;
        time.SetUtcNow(new DateTimeOffset(2026, 3, 10, 1, 30, 0, TimeSpan.Zero));
        await timer.HandleAsync(CancellationToken.None);
        time.SetUtcNow(new DateTimeOffset(2026, 3, 10, 2, 30, 0, TimeSpan.Zero));
        await timer.HandleAsync(CancellationToken.None);

        Assert.Equal(0, beforeFinal);
        var digest = JsonDocument.Parse(Assert.Single(webhook.Received).Body).RootElement;
        Assert.Equal("spend.daily_digest", digest.GetProperty("type").GetString());
        Assert.Equal("2026-03-09", digest.GetProperty("day").GetString());
        Assert.Equal(14_900, digest.GetProperty("costMicros").GetInt64());
        Assert.Equal(3, digest.GetProperty("calls").GetInt64());
        Assert.Equal("alice", digest.GetProperty("topCallers")[0].GetProperty("caller").GetString());
        Assert.Equal(0.0145m, digest.GetProperty("topCallers")[0].GetProperty("costUsd").GetDecimal());
        Assert.Equal("gpt-4o", digest.GetProperty("topModels")[0].GetProperty("model").GetString());
        Assert.Equal(0.0024m, digest.GetProperty("topModels")[1].GetProperty("costUsd").GetDecimal());
        Assert.Equal(1, digest.GetProperty("cacheHits").GetInt64());
        Assert.Equal(0.002m, digest.GetProperty("cacheSavingsUsd").GetDecimal());
        Assert.Contains("Spend on 2026-03-09: $0.0149", digest.GetProperty("title").GetString());
    }
}
