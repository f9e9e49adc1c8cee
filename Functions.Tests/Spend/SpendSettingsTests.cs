using Functions.Core.Alerts;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Local.Development;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Spend;

/// <summary>The settings as an operator writes them: app-setting style, bound and validated as at start-up.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SpendSettingsTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task SampleSettings_BindAndValidate_WithNoBudgetsAndNoChannels()
    {
        var sample = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(RepositoryFiles.FindRoot()!, "local.settings.sample.json")).Build()
            .GetSection("Values").AsEnumerable(makePathsRelative: true)
            .Where(setting => setting.Value is not null && (setting.Key.StartsWith("Budgets__") || setting.Key.StartsWith("Alerts__")
                                                            || setting.Key.StartsWith("Pricing__") || setting.Key.StartsWith("Spend__")))
            .ToDictionary(setting => setting.Key.Replace("__", ":"), setting => setting.Value);
        sample.Remove("Spend:Table");
        await using var services = await CoreServices.StartAsync(azurite, TimeProvider.System, sample);

        Assert.Empty(services.GetRequiredService<IOptions<BudgetOptions>>().Value.Configured());
        Assert.Empty(services.GetRequiredService<IOptions<AlertOptions>>().Value.Channels());
        Assert.Equal([50, 80, 100], services.GetRequiredService<IOptions<AlertOptions>>().Value.ThresholdPercents());
        Assert.Equal(10.00m, services.GetRequiredService<IOptions<PricingOptions>>().Value.Fallback.OutputUsdPerMillion);
    }

    [Fact]
    public async Task PriceList_FromAppSettings_OverridesOneModel()
    {
        await using var services = await CoreServices.StartAsync(azurite, TimeProvider.System, new Dictionary<string, string?>
        {
            ["Pricing:Models:0:Model"] = "gpt-4.1-mini",
            ["Pricing:Models:0:InputUsdPerMillion"] = "0.20",
            ["Pricing:Models:0:CachedInputUsdPerMillion"] = "0.05",
            ["Pricing:Models:0:OutputUsdPerMillion"] = "0.80",
            ["Pricing:Models:0:EffectiveFrom"] = "2026-01-01",
            ["Budgets:GlobalDailyUsd"] = "12.5",
        });
        var prices = services.GetRequiredService<PriceTable>();
        var usage = new TokenUsage(1000, 0, 1000);

        Assert.Equal(1_000, prices.Cost("gpt-4.1-mini-2025-04-14", usage, DateTimeOffset.UtcNow).Micros); // 200 + 800
        Assert.Equal(10_000, prices.Cost("gpt-4.1", usage, DateTimeOffset.UtcNow).Micros);               // 2000 + 8000, still the default
        Assert.Equal(12_500_000, Assert.Single(services.GetRequiredService<IOptions<BudgetOptions>>().Value.Configured()).LimitMicros);
    }

    [Theory]
    [InlineData("Alerts:Thresholds", "50,eighty")]
    [InlineData("Alerts:WebhookUrl", "not a url")]
    [InlineData("Budgets:GlobalDailyUsd", "-1")]
    [InlineData("Pricing:Models:0:OutputUsdPerMillion", "-5")]
    public async Task InvalidSetting_FailsValidation_NamingIt(string key, string value)
    {
        await using var services = await CoreServices.StartAsync(azurite, TimeProvider.System, new Dictionary<string, string?>
        {
            [key] = value,
            ["Pricing:Models:0:Model"] = "gpt-4.1-mini",
        });

        var error = Assert.ThrowsAny<OptionsValidationException>(() =>
        {
            _ = services.GetRequiredService<IOptions<AlertOptions>>().Value;
            _ = services.GetRequiredService<IOptions<BudgetOptions>>().Value;
            _ = services.GetRequiredService<IOptions<PricingOptions>>().Value;
        });
        Assert.Contains(key.Split(':')[^1], error.Message);
        Assert.DoesNotContain("not a url", error.Message);
    }
}
