using System.Diagnostics;
using System.Text.Json;
using Functions.Core.Alerts;
using Functions.Core.Telemetry;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Alerts;

/// <summary>
/// Operational alerts against Azurite and a loopback webhook: each episode sends one "started" and one "ended" alert,
/// however many runs and instances see it. Counts are recorded through the telemetry hooks the pipeline calls.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class OperationalAlertsTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 3, 10, 12, 0, 30, TimeSpan.Zero);
    private readonly FakeTimeProvider time = new(Start);
    private readonly string table = AzuriteFixture.UniqueName("spend");
    private LoopbackWebhook webhook = null!;

    public async Task InitializeAsync() => webhook = await LoopbackWebhook.StartAsync();

    public async Task DisposeAsync() => await webhook.DisposeAsync();

    [Fact]
    public async Task A429Storm_AlertsOnceWhenItStarts_AndOnceWhenItEnds()
    {
        await using var services = await StartAsync();
        var telemetry = services.GetRequiredService<ServerlessTelemetry>();
        var alerts = services.GetRequiredService<OperationalAlerts>();

        Upstream(telemetry, ok: 20, status: 429, failures: 10); // 33% of 30 calls, over the 20% threshold
        var first = await alerts.RunAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(1));
        Upstream(telemetry, ok: 0, status: 429, failures: 5);
        var stillStorming = await alerts.RunAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(6)); // the storm's minutes leave the 5-minute window
        Upstream(telemetry, ok: 40, status: 429, failures: 0);
        var calm = await alerts.RunAsync(CancellationToken.None);
        var calmAgain = await alerts.RunAsync(CancellationToken.None);

        Assert.Equal((1, 0, 1, 0), (first, stillStorming, calm, calmAgain));
        var (started, ended) = (Body(0), Body(1));
        Assert.Equal("ops.rate_limited", started.GetProperty("type").GetString());
        Assert.Equal(10, started.GetProperty("failures").GetInt64());
        Assert.Equal(30, started.GetProperty("calls").GetInt64());
        Assert.Equal(33.3, started.GetProperty("percent").GetDouble());
        Assert.Equal(Start, started.GetProperty("startedAt").GetDateTimeOffset());
        Assert.Equal("ops.rate_limited.ended", ended.GetProperty("type").GetString());
        Assert.Equal(Start.AddMinutes(7), ended.GetProperty("endedAt").GetDateTimeOffset());
        Assert.Contains("ended at 2026-03-10 12:07:30Z", ended.GetProperty("text").GetString());
    }

    [Fact]
    public async Task ANewStormAfterTheLastEnded_IsANewEpisode()
    {
        await using var services = await StartAsync();
        var telemetry = services.GetRequiredService<ServerlessTelemetry>();
        var alerts = services.GetRequiredService<OperationalAlerts>();

        Upstream(telemetry, ok: 10, status: 503, failures: 20);
        await alerts.RunAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(10));
        await alerts.RunAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(10));
        Upstream(telemetry, ok: 10, status: 0, failures: 20); // timeouts count as server errors
        await alerts.RunAsync(CancellationToken.None);

        Assert.Equal(["ops.server_errors", "ops.server_errors.ended", "ops.server_errors"], Types());
        Assert.NotEqual(Body(0).GetProperty("id").GetString(), Body(2).GetProperty("id").GetString());
    }

    [Fact]
    public async Task FewCalls_JudgeNoRate()
    {
        await using var services = await StartAsync();
        Upstream(services.GetRequiredService<ServerlessTelemetry>(), ok: 1, status: 429, failures: 5); // 6 calls < 20

        Assert.Equal(0, await services.GetRequiredService<OperationalAlerts>().RunAsync(CancellationToken.None));
        Assert.Empty(webhook.Received);
    }

    [Fact]
    public async Task TwoInstances_SumTheirCounts_AndTheEpisodeAlertsOnce()
    {
        // Neither instance alone crosses 20%: 4 of 20 and 5 of 20 are 20% and 25%; together 9 of 40, 22.5%.
        await using var first = await StartAsync(new() { ["OperationalAlerts:RateLimitedPercent"] = "22" });
        await using var second = await StartAsync(new() { ["OperationalAlerts:RateLimitedPercent"] = "22" });
        Upstream(first.GetRequiredService<ServerlessTelemetry>(), ok: 16, status: 429, failures: 4);
        Upstream(second.GetRequiredService<ServerlessTelemetry>(), ok: 15, status: 429, failures: 5);
        await second.GetRequiredService<HealthCountersFlusher>().FlushAsync(CancellationToken.None);

        var delivered = await Task.WhenAll(
            first.GetRequiredService<OperationalAlerts>().RunAsync(CancellationToken.None),
            second.GetRequiredService<OperationalAlerts>().RunAsync(CancellationToken.None));

        Assert.Equal(1, delivered.Sum());
        Assert.Equal(40, Body(0).GetProperty("calls").GetInt64());
    }

    [Fact]
    public async Task CircuitOpening_AndPoisonMessages_EachAlertOncePerEpisode()
    {
        await using var services = await StartAsync();
        var telemetry = services.GetRequiredService<ServerlessTelemetry>();
        var alerts = services.GetRequiredService<OperationalAlerts>();

        telemetry.CircuitOpened();
        telemetry.CircuitOpened();
        await alerts.RunAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(1));
        using (telemetry.StartPoison(new Core.Jobs.JobMessage(Guid.CreateVersion7().ToString("N"))))
        {
        }
        await alerts.RunAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(6));
        await alerts.RunAsync(CancellationToken.None);
        await alerts.RunAsync(CancellationToken.None);

        Assert.Equal(["ops.circuit_open", "ops.poison_messages", "ops.circuit_open.ended", "ops.poison_messages.ended"], Types());
        Assert.Equal(2, Body(0).GetProperty("circuitOpens").GetInt64());
    }

    [Fact]
    public async Task SpendInTheLastHour_ThreeTimesTheTrailingAverage_IsUnusual()
    {
        await using var services = await StartAsync(new() { ["OperationalAlerts:SpendTrailingHours"] = "4" });
        var telemetry = services.GetRequiredService<ServerlessTelemetry>();
        var alerts = services.GetRequiredService<OperationalAlerts>();

        // Four ordinary hours (12:00 to 15:59) at $1 an hour, a quiet hour, then $2.50 within the last hour: 2.5x, not unusual.
        for (var hour = 0; hour < 4; hour++)
        {
            telemetry.Cost(1_000_000, "gpt-4.1-mini");
            await services.GetRequiredService<HealthCountersFlusher>().FlushAsync(CancellationToken.None);
            time.Advance(TimeSpan.FromHours(1));
        }
        time.Advance(TimeSpan.FromMinutes(90)); // 17:30:30: the last hour is 16:31 to 17:30, the trailing hours 12:00 to 15:59
        telemetry.Cost(2_500_000, "gpt-4.1-mini");
        var ordinary = await alerts.RunAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(10));
        telemetry.Cost(1_000_000, "gpt-4.1-mini"); // $3.50 in the last hour: 3.5x
        var unusual = await alerts.RunAsync(CancellationToken.None);

        Assert.Equal((0, 1), (ordinary, unusual));
        var alert = Body(0);
        Assert.Equal("ops.unusual_spend", alert.GetProperty("type").GetString());
        Assert.Equal(3_500_000, alert.GetProperty("lastHourMicros").GetInt64());
        Assert.Equal(1_000_000, alert.GetProperty("trailingAverageMicros").GetInt64());
    }

    [Fact]
    public async Task WithNoChannel_EpisodesAreTracked_ButNothingIsSent()
    {
        await using var services = await StartAsync(new() { ["Alerts:WebhookUrl"] = "" });
        Upstream(services.GetRequiredService<ServerlessTelemetry>(), ok: 0, status: 429, failures: 30);

        var delivered = await services.GetRequiredService<OperationalAlerts>().RunAsync(CancellationToken.None);
        var episode = await services.GetRequiredService<AlertEpisodes>().GetAsync(OperationalAlerts.Kinds.RateLimited, CancellationToken.None);

        Assert.Equal(0, delivered);
        Assert.True(episode?.IsOpen);
        Assert.Empty(webhook.Received);
    }

    [Theory]
    [InlineData("OperationalAlerts:Window", "00:00:10")]
    [InlineData("OperationalAlerts:RateLimitedPercent", "150")]
    [InlineData("OperationalAlerts:SpendMultiplier", "1.05")]
    [InlineData("OperationalAlerts:FlushInterval", "00:05:00")]
    public async Task BadThresholds_FailOptionValidation(string setting, string value)
    {
        await using var services = await StartAsync(new() { [setting] = value });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<OperationalAlertOptions>>().Value);
        Assert.Contains(setting.Split(':')[1], failure.Message);
    }

    private static void Upstream(ServerlessTelemetry telemetry, int ok, int status, int failures)
    {
        for (var i = 0; i < ok; i++)
        {
            telemetry.UpstreamStatus(200, null, new TagList());
        }
        for (var i = 0; i < failures; i++)
        {
            telemetry.UpstreamStatus(status, status == 0 ? "upstream_timeout" : status.ToString(), new TagList());
        }
    }

    private JsonElement Body(int index) => JsonDocument.Parse(webhook.Received.ElementAt(index).Body).RootElement;

    private string[] Types() => [.. webhook.Received.Select(hook => JsonDocument.Parse(hook.Body).RootElement.GetProperty("type").GetString()!)];

    private Task<ServiceProvider> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Spend:Table"] = table,
            ["Alerts:WebhookUrl"] = webhook.Url("/hook").ToString(),
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }
        return CoreServices.StartAsync(azurite, time, all);
    }
}
