using System.ComponentModel.DataAnnotations;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Core.Tokens;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Spend;

/// <summary>Every expected cost here is worked out by hand: tokens × USD per 1M tokens = micro-dollars.</summary>
public sealed class PriceTableTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    // 2,000 input tokens of which 1,000 cached, and 3,000 output tokens.
    private static readonly TokenUsage Usage = new(2000, 1000, 3000);

    [Theory]
    [InlineData("gpt-4.1-mini", 5_300)]   // 1000 × 0.40 + 1000 × 0.10 + 3000 × 1.60 = 400 + 100 + 4800
    [InlineData("gpt-4.1", 26_500)]       // 1000 × 2.00 + 1000 × 0.50 + 3000 × 8.00 = 2000 + 500 + 24000
    [InlineData("gpt-4.1-nano", 1_325)]   // 1000 × 0.10 + 1000 × 0.025 + 3000 × 0.40 = 100 + 25 + 1200
    [InlineData("gpt-4o-mini", 2_025)]    // 1000 × 0.15 + 1000 × 0.075 + 3000 × 0.60 = 150 + 75 + 1800
    [InlineData("gpt-4o", 33_750)]        // 1000 × 2.50 + 1000 × 1.25 + 3000 × 10.00 = 2500 + 1250 + 30000
    public void Cost_OfEachDefaultModel_MatchesItsListPrice(string model, long expectedMicros)
    {
        var cost = Prices().Cost(model, Usage, Now);

        Assert.Equal(expectedMicros, cost.Micros);
        Assert.Equal(model, cost.PricedAs);
        Assert.False(cost.IsFallback);
    }

    [Theory]
    [InlineData("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini", 5_300)]
    [InlineData("gpt-4.1-2025-04-14", "gpt-4.1", 26_500)]
    [InlineData("gpt-4o-mini-2024-07-18", "gpt-4o-mini", 2_025)]
    [InlineData("gpt-4o-2024-08-06", "gpt-4o", 33_750)]
    [InlineData("GPT-4.1-MINI", "gpt-4.1-mini", 5_300)]
    public void Cost_OfADatedModelId_UsesItsBaseModelsPrice(string returned, string pricedAs, long expectedMicros)
    {
        var cost = Prices().Cost(returned, Usage, Now);

        Assert.Equal(expectedMicros, cost.Micros);
        Assert.Equal(pricedAs, cost.PricedAs);
    }

    [Fact]
    public void Cost_WithNoCachedTokens_PricesAllInputAtTheInputPrice()
    {
        // 1000 × 0.40 + 500 × 1.60 = 400 + 800
        Assert.Equal(1_200, Prices().Cost("gpt-4.1-mini", new TokenUsage(1000, 0, 500), Now).Micros);
    }

    [Fact]
    public void Cost_WithAFractionOfAMicroDollar_RoundsUpOncePerCall()
    {
        // gpt-4.1-nano: 4 × 0.10 + 3 × 0.025 + 1 × 0.40 = 0.4 + 0.075 + 0.4 = 0.875 µ$, charged as 1 µ$ (not 0 + 0 + 0, nor 1 + 1 + 1).
        Assert.Equal(1, Prices().Cost("gpt-4.1-nano", new TokenUsage(7, 3, 1), Now).Micros);
        // gpt-4.1-nano: 1 × 0.025 = 0.025 µ$, still 1 µ$: a call is never free.
        Assert.Equal(1, Prices().Cost("gpt-4.1-nano", new TokenUsage(1, 1, 0), Now).Micros);
    }

    [Fact]
    public void Cost_OfAnUnknownModel_UsesTheFallbackPrice_AndWarnsOnce()
    {
        var logs = new ListLoggerProvider();
        var prices = Prices(logs: logs);

        var first = prices.Cost("mystery-model", Usage, Now);
        var second = prices.Cost("mystery-model", Usage, Now);

        // The default fallback is gpt-4o's price: 1000 × 2.50 + 1000 × 1.25 + 3000 × 10.00.
        Assert.Equal(33_750, first.Micros);
        Assert.Equal(first, second);
        Assert.True(first.IsFallback);
        Assert.Equal("fallback", first.PricedAs);
        var warning = Assert.Single(logs.Lines, line => line.Level == LogLevel.Warning);
        Assert.Contains("mystery-model", warning.Message);
    }

    [Fact]
    public void Cost_OfAnUnknownModel_UsesTheConfiguredFallback()
    {
        var prices = Prices(new PricingOptions
        {
            Fallback = new ModelPrice { Model = "fallback", InputUsdPerMillion = 1m, OutputUsdPerMillion = 3m },
        });

        // Cached price left empty: cached tokens cost the full input price. 2000 × 1 + 3000 × 3.
        Assert.Equal(11_000, prices.Cost("mystery-model", Usage, Now).Micros);
    }

    [Fact]
    public void Cost_FollowsEffectiveDates_AndTheFirstPriceCoversEarlierCalls()
    {
        var prices = Prices(new PricingOptions
        {
            Models =
            [
                new ModelPrice { Model = "gpt-4.1-mini", EffectiveFrom = Date("2026-06-01"), InputUsdPerMillion = 0.20m, CachedInputUsdPerMillion = 0.05m, OutputUsdPerMillion = 0.80m },
                new ModelPrice { Model = "gpt-4.1-mini", EffectiveFrom = Date("2025-04-14"), InputUsdPerMillion = 0.40m, CachedInputUsdPerMillion = 0.10m, OutputUsdPerMillion = 1.60m },
            ],
        });

        Assert.Equal(5_300, prices.Cost("gpt-4.1-mini", Usage, Date("2026-05-31T23:59:59")).Micros);
        Assert.Equal(2_650, prices.Cost("gpt-4.1-mini", Usage, Date("2026-06-01")).Micros); // 200 + 50 + 2400
        Assert.Equal(5_300, prices.Cost("gpt-4.1-mini", Usage, Date("2024-01-01")).Micros);
    }

    [Fact]
    public void ConfiguredModel_ReplacesOnlyItsOwnDefaults()
    {
        var prices = Prices(new PricingOptions
        {
            Models = [new ModelPrice { Model = "gpt-4o", InputUsdPerMillion = 1m, CachedInputUsdPerMillion = 1m, OutputUsdPerMillion = 1m }],
        });

        Assert.Equal(5_000, prices.Cost("gpt-4o-2024-08-06", Usage, Now).Micros);
        Assert.Equal(5_300, prices.Cost("gpt-4.1-mini", Usage, Now).Micros);
    }

    [Fact]
    public void WorstCase_IsTheTokenizersInputEstimateAtTheInputPrice_PlusTheWholeOutputAllowance()
    {
        var request = new ChatRequest([new ChatMessage("system", "Be brief."), new ChatMessage("user", "hi")], "gpt-4.1-mini", null, 100);

        // Input (o200k_base): 3 priming + (4 + "system" 1 + "Be brief." 3) + (4 + "user" 1 + "hi" 1) = 17 tokens,
        // + 2 % → 18, + 8 flat = 26 tokens × 0.40 = 10.4; output: 100 × 1.60 = 160; 170.4 → 171.
        Assert.Equal(26, new TokenCounter().EstimateInputTokens(request));
        Assert.Equal(171, Prices().WorstCaseMicros(request, 4096, Now));
        // No maxTokens: the configured maximum, 4096 × 1.60 = 6553.6, so 10.4 + 6553.6 = 6564.
        Assert.Equal(6_564, Prices().WorstCaseMicros(request with { MaxTokens = null }, 4096, Now));
    }

    [Fact]
    public void Validation_RejectsNegativePricesAndMissingModels()
    {
        var options = new PricingOptions { Models = [new ModelPrice { Model = "", InputUsdPerMillion = -1m }] };
        var results = new List<ValidationResult>();

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(results, result => result.ErrorMessage!.Contains("Pricing:Models:0:Model"));
        Assert.Contains(results, result => result.ErrorMessage!.Contains("Pricing:Models:0:InputUsdPerMillion"));
    }

    private static PriceTable Prices(PricingOptions? options = null, ListLoggerProvider? logs = null) =>
        new(Options.Create(options ?? new PricingOptions()), new TokenCounter(), (logs ?? new ListLoggerProvider()).CreateLogger<PriceTable>());

    private static DateTimeOffset Date(string utc) =>
        DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
}
