using System.Text.Json;
using Azure.Security.KeyVault.Secrets;
using Functions.Core.Alerts;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Functions.Tests.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace Functions.Tests.Alerts;

/// <summary>Budget alerts against Azurite and a loopback webhook receiver; the global daily budget is $1 = 1,000,000 µ$.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BudgetAlertsTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider time = new(Noon);
    private readonly string table = AzuriteFixture.UniqueName("spend");
    private LoopbackWebhook webhook = null!;

    public async Task InitializeAsync() => webhook = await LoopbackWebhook.StartAsync();

    public async Task DisposeAsync() => await webhook.DisposeAsync();

    [Fact]
    public async Task TwoConcurrentRuns_DeliverTheAlertOnce()
    {
        // Two instances of the app: separate services, one table.
        await using var first = await StartAsync();
        await using var second = await StartAsync();
        await SpendAsync(first, "alice", 600_000);

        var delivered = await Task.WhenAll(
            first.GetRequiredService<BudgetAlerts>().RunAsync(CancellationToken.None),
            second.GetRequiredService<BudgetAlerts>().RunAsync(CancellationToken.None));
        await first.GetRequiredService<BudgetAlerts>().RunAsync(CancellationToken.None);

        Assert.Equal(1, delivered.Sum());
        var alert = JsonDocument.Parse(Assert.Single(webhook.Received).Body).RootElement;
        Assert.Equal("budget.threshold", alert.GetProperty("type").GetString());
        Assert.Equal("globalDaily", alert.GetProperty("budget").GetString());
        Assert.Equal(50, alert.GetProperty("thresholdPercent").GetInt32());
        Assert.Equal(0.6m, alert.GetProperty("spentUsd").GetDecimal());
        Assert.Equal(1m, alert.GetProperty("limitUsd").GetDecimal());
        // 60% in the 12 hours since midnight: the other 40% lasts 8 more hours.
        Assert.Equal(Noon.AddHours(8), alert.GetProperty("projectedExhaustionAt").GetDateTimeOffset());
        Assert.Equal(Noon.Date.AddDays(1), alert.GetProperty("resetsAt").GetDateTimeOffset().UtcDateTime);
        Assert.Equal("budget:globalDaily:all:2026-03-10:50", alert.GetProperty("id").GetString());
    }

    [Fact]
    public async Task WebhookFails_TheAlertStaysPending_AndTheNextRunSendsItOnce()
    {
        await using var services = await StartAsync();
        await SpendAsync(services, "alice", 600_000);
        var alerts = services.GetRequiredService<BudgetAlerts>();
        webhook.Enqueue(500);

        var failedRun = await alerts.RunAsync(CancellationToken.None);
        var pending = await services.GetRequiredService<AlertStates>()
            .GetAsync(AlertStates.Partition(BudgetWindow.Of(BudgetPeriod.Daily, Noon)), "globalDaily|all|50", CancellationToken.None);
        var retryRun = await alerts.RunAsync(CancellationToken.None);
        var laterRun = await alerts.RunAsync(CancellationToken.None);

        Assert.Equal((0, 1, 0), (failedRun, retryRun, laterRun));
        Assert.Equal(AlertState.Pending, pending?.State);
        Assert.Equal([500, 200], webhook.Received.Select(hook => hook.Status));
        Assert.Equal(webhook.Received.First().Body, webhook.Received.Last().Body);
    }

    [Fact]
    public async Task ACrashedSendersClaim_BlocksOthersOnlyUntilItsLeaseRunsOut()
    {
        await using var services = await StartAsync();
        await SpendAsync(services, "alice", 600_000);
        var states = services.GetRequiredService<AlertStates>();
        var partition = AlertStates.Partition(BudgetWindow.Of(BudgetPeriod.Daily, Noon));
        // A sender that claimed the alert (lease 5 minutes) and died before sending.
        await states.TryAddAsync(new AlertState(partition, "globalDaily|all|50", AlertState.Pending, Noon.AddMinutes(5), "", 0,
            new AlertMessage("budget:globalDaily:all:2026-03-10:50", AlertMessage.BudgetThreshold, "50%", ["line"], []).ToJson()),
            CancellationToken.None);
        var alerts = services.GetRequiredService<BudgetAlerts>();

        var whileClaimed = await alerts.RunAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(6));
        var afterLease = await alerts.RunAsync(CancellationToken.None);

        Assert.Equal((0, 1), (whileClaimed, afterLease));
        Assert.Single(webhook.Received);
    }

    [Fact]
    public async Task SlackAndTeams_GetTheirOwnFormats_AndOnlyAFailedChannelIsRetried()
    {
        await using var services = await StartAsync(new()
        {
            ["Alerts:SlackWebhookUrl"] = webhook.Url("/slack").ToString(),
            ["Alerts:TeamsWebhookUrl"] = webhook.Url("/teams").ToString(),
        });
        await SpendAsync(services, "alice", 600_000);
        var alerts = services.GetRequiredService<BudgetAlerts>();
        webhook.Enqueue(200, 503); // the generic webhook takes it, Slack fails, Teams takes it

        await alerts.RunAsync(CancellationToken.None);
        await alerts.RunAsync(CancellationToken.None);

        Assert.Equal(["/hook", "/slack", "/teams", "/slack"], webhook.Received.Select(hook => hook.Path));
        Assert.Single(webhook.Delivered("/slack"));
        var slack = JsonDocument.Parse(webhook.Delivered("/slack").Single().Body).RootElement;
        Assert.StartsWith("*50% of the global daily budget used", slack.GetProperty("text").GetString());
        var teams = JsonDocument.Parse(webhook.Delivered("/teams").Single().Body).RootElement;
        Assert.Equal("message", teams.GetProperty("type").GetString());
        var card = teams.GetProperty("attachments")[0];
        Assert.Equal("application/vnd.microsoft.card.adaptive", card.GetProperty("contentType").GetString());
        Assert.Equal("AdaptiveCard", card.GetProperty("content").GetProperty("type").GetString());
        Assert.StartsWith("50% of the global daily budget used", card.GetProperty("content").GetProperty("body")[0].GetProperty("text").GetString());
        Assert.All(webhook.Received, hook => Assert.Equal("application/json", hook.ContentType?.Split(';')[0]));
    }

    [Fact]
    public async Task EveryThresholdReached_AlertsOnce_PerCallerToo()
    {
        await using var services = await StartAsync(new() { ["Budgets:PerCallerDailyUsd"] = "0.5" });
        await SpendAsync(services, "alice", 450_000); // 90% of alice's $0.50, 45% of the global $1
        await SpendAsync(services, "bob", 400_000);   // 80% of bob's, 85% globally

        await services.GetRequiredService<BudgetAlerts>().RunAsync(CancellationToken.None);

        var alerts = webhook.Received.Select(hook => JsonDocument.Parse(hook.Body).RootElement)
            .Select(alert => $"{alert.GetProperty("budget").GetString()}:{alert.GetProperty("caller").GetString() ?? "all"}:{alert.GetProperty("thresholdPercent").GetInt32()}")
            .Order().ToList();
        Assert.Equal(["globalDaily:all:50", "globalDaily:all:80", "perCallerDaily:alice:50", "perCallerDaily:alice:80",
            "perCallerDaily:bob:50", "perCallerDaily:bob:80"], alerts);
    }

    [Fact]
    public async Task WithNoChannel_NothingIsSentOrRecorded()
    {
        await using var services = await StartAsync(new() { ["Alerts:WebhookUrl"] = "" });
        await SpendAsync(services, "alice", 600_000);

        var delivered = await services.GetRequiredService<BudgetAlerts>().RunAsync(CancellationToken.None);

        Assert.Equal(0, delivered);
        Assert.Empty(await services.GetRequiredService<AlertStates>()
            .GetPartitionAsync(AlertStates.Partition(BudgetWindow.Of(BudgetPeriod.Daily, Noon)), CancellationToken.None));
    }

    [Theory]
    [InlineData(250_000, "2026-03-10T06:00:00Z", "2026-03-11T00:00:00Z", null)]                   // 25% in 6 h: lasts the day
    [InlineData(500_000, "2026-03-10T06:00:00Z", "2026-03-11T00:00:00Z", "2026-03-10T12:00:00Z")] // 50% in 6 h: gone by noon
    [InlineData(1_000_000, "2026-03-10T06:00:00Z", "2026-03-11T00:00:00Z", "2026-03-10T06:00:00Z")] // exhausted now
    [InlineData(900_000, "2026-03-11T01:00:00Z", "2026-03-11T00:00:00Z", null)]                    // window over
    public void ProjectedExhaustion_ExtrapolatesTheWindowsAverageRate(long spent, string now, string windowEnd, string? expected)
    {
        var window = BudgetWindow.Of(BudgetPeriod.Daily, DateTimeOffset.Parse(windowEnd).AddDays(-1));

        var projected = BudgetAlerts.ProjectExhaustion(spent, 1_000_000, window, DateTimeOffset.Parse(now));

        Assert.Equal(expected is null ? null : DateTimeOffset.Parse(expected), projected);
    }

    [Fact]
    public async Task WebhookUrlKeptInKeyVault_IsWhereTheAlertGoes_WithNoSettingHoldingIt()
    {
        var vault = new Mock<SecretClient>();
        vault.Setup(client => client.GetSecretAsync("alerts-webhook-url", It.IsAny<string>(), It.IsAny<SecretContentType?>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(TestVault.Secret("alerts-webhook-url", webhook.Url("/from-vault").ToString()));
        await using var services = await StartAsync(new()
        {
            ["Alerts:WebhookUrl"] = null,
            ["KeyVault:VaultUri"] = TestVault.Uri.ToString(),
            ["KeyVault:Secrets:AlertsWebhookUrl"] = "alerts-webhook-url",
        }, before: collection => collection.AddSingleton(vault.Object));
        await SpendAsync(services, "alice", 600_000);

        var delivered = await services.GetRequiredService<BudgetAlerts>().RunAsync(CancellationToken.None);

        Assert.Equal(1, delivered);
        Assert.Single(webhook.Delivered("/from-vault"));
    }

    private Task<ServiceProvider> StartAsync(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? before = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Spend:Table"] = table,
            ["Budgets:GlobalDailyUsd"] = "1",
            ["Alerts:WebhookUrl"] = webhook.Url("/hook").ToString(),
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }
        return CoreServices.StartAsync(azurite, time, all, before: before);
    }

    /// <summary>Spend as the pipeline records it: a reservation at submit, settled to the real cost by the worker.</summary>
    private async Task SpendAsync(IServiceProvider services, string caller, long micros)
    {
        var budgets = services.GetRequiredService<BudgetReservations>();
        var job = new Job(JobIds.New(time), caller, JobStatus.Running, new ChatRequest([new ChatMessage("user", "hi")], "gpt-4.1-mini", null, 10),
            time.GetUtcNow(), ModelCalls: 1);
        Assert.Null(await budgets.ReserveAsync(job, CancellationToken.None));
        await budgets.SettleAsync(job, micros, CancellationToken.None);
    }
}
