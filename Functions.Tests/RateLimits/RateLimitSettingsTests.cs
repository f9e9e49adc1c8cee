using Functions.Core.Completions;
using Functions.Core.RateLimits;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Tests.RateLimits;

/// <summary>Limits and upstream settings as an operator writes them, validated as at start-up.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RateLimitSettingsTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("RateLimits:PerCaller:RequestsPerMinute", "0")]
    [InlineData("RateLimits:PerCaller:TokensPerMinute", "-5")]
    [InlineData("RateLimits:Anonymous:RequestsPerMinute", "0")]
    [InlineData("RateLimits:Roles:premium:TokensPerMinute", "0")]
    [InlineData("OpenAI:Models:0:RequestsPerMinute", "0")]
    [InlineData("OpenAI:Models:0:TokensPerMinute", "-1")]
    public async Task ANonPositiveLimit_StopsTheHost_NamingTheSetting(string key, string value)
    {
        await using var services = await CoreServices.StartAsync(azurite, TimeProvider.System, new Dictionary<string, string?>
        {
            [key] = value,
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
        });

        var error = Assert.ThrowsAny<OptionsValidationException>(() =>
        {
            _ = services.GetRequiredService<IOptions<RateLimitOptions>>().Value;
            _ = services.GetRequiredService<IOptions<OpenAIOptions>>().Value;
        });

        Assert.Contains(key, error.Message);
    }

    [Fact]
    public async Task EmptyLimits_AsTheInfraWritesThem_AreNoLimits()
    {
        await using var services = await CoreServices.StartAsync(azurite, TimeProvider.System, new Dictionary<string, string?>
        {
            ["RateLimits:PerCaller:RequestsPerMinute"] = "",
            ["RateLimits:PerCaller:TokensPerMinute"] = "",
            ["RateLimits:Anonymous:RequestsPerMinute"] = "",
        });

        var options = services.GetRequiredService<IOptions<RateLimitOptions>>().Value;

        Assert.False(options.For(anonymous: false, []).IsLimited);
        Assert.False(options.For(anonymous: true, []).IsLimited);
    }

    [Fact]
    public async Task AModelListedTwice_StopsTheHost()
    {
        await using var services = await CoreServices.StartAsync(azurite, TimeProvider.System, new Dictionary<string, string?>
        {
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
            ["OpenAI:Models:1:Name"] = "gpt-4.1-mini",
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<OpenAIOptions>>().Value);

        Assert.Contains("OpenAI:Models:1:Name", error.Message);
    }

    [Fact]
    public async Task TheModelList_BindsFromAppSettings()
    {
        await using var services = await CoreServices.StartAsync(azurite, TimeProvider.System, new Dictionary<string, string?>
        {
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
            ["OpenAI:Models:0:Endpoint"] = "https://example.openai.azure.com/openai/v1/",
            ["OpenAI:Models:0:Deployment"] = "mini-prod",
            ["OpenAI:Models:0:RequestsPerMinute"] = "600",
            ["OpenAI:Models:0:TokensPerMinute"] = "60000",
        });

        var model = services.GetRequiredService<IOptions<OpenAIOptions>>().Value.Model("gpt-4.1-mini")!;

        Assert.Equal(600, model.RequestsPerMinute);
        Assert.Equal(60_000, model.TokensPerMinute);
        Assert.Equal("https://example.openai.azure.com/openai/v1|mini-prod", model.PacingKey(null));
    }

    [Fact]
    public void Roles_GiveTheMostGenerousOverride_AndAnonymousFallsBackToPerCaller()
    {
        var options = new RateLimitOptions
        {
            PerCaller = new CallerLimit { RequestsPerMinute = 10, TokensPerMinute = 1000 },
            Anonymous = new CallerLimit { RequestsPerMinute = 2 },
            Roles =
            {
                ["premium"] = new CallerLimit { RequestsPerMinute = 100 },
                ["bulk"] = new CallerLimit { RequestsPerMinute = 50, TokensPerMinute = 50_000 },
            },
        };

        var both = options.For(anonymous: false, ["premium", "bulk", "other"]);
        var anonymous = options.For(anonymous: true, ["premium"]);

        Assert.Equal((100, 50_000), (both.RequestsPerMinute!.Value, both.TokensPerMinute!.Value));
        Assert.Equal((10, 1000), (options.For(false, ["other"]).RequestsPerMinute!.Value, options.For(false, []).TokensPerMinute!.Value));
        Assert.Equal((2, 1000), (anonymous.RequestsPerMinute!.Value, anonymous.TokensPerMinute!.Value)); // roles never apply to anonymous
        Assert.False(new RateLimitOptions().For(false, []).IsLimited);
    }
}
