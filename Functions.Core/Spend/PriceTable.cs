using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Spend;

/// <summary>The cost of a call, in whole micro-dollars, and which price produced it.</summary>
public sealed record PricedCost(long Micros, string PricedAs, bool IsFallback);

/// <summary>
/// Prices model calls. Arithmetic is exact: a price in USD per million tokens times a token count is micro-dollars,
/// computed in <see cref="decimal"/> over all three token classes and rounded up once per call, so a call is never
/// counted as cheaper than it was and sums of calls are sums of integers.
/// </summary>
public sealed partial class PriceTable
{
    private readonly Dictionary<string, ModelPrice[]> prices;
    private readonly ModelPrice fallback;
    private readonly TokenCounter tokens;
    private readonly ILogger<PriceTable> logger;
    private readonly ConcurrentDictionary<string, bool> warned = new(StringComparer.OrdinalIgnoreCase);

    public PriceTable(IOptions<PricingOptions> options, TokenCounter tokens, ILogger<PriceTable> logger)
    {
        var configured = options.Value.Models;
        prices = configured
            .Concat(DefaultPrices.All.Where(price => !configured.Any(c => c.Model.Equals(price.Model, StringComparison.OrdinalIgnoreCase))))
            .GroupBy(price => price.Model, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(group => group.Key, group => group.OrderBy(price => price.EffectiveFrom ?? DateTimeOffset.MinValue).ToArray(),
                StringComparer.OrdinalIgnoreCase);
        fallback = options.Value.Fallback;
        this.tokens = tokens;
        this.logger = logger;
    }

    public PricedCost Cost(string model, TokenUsage usage, DateTimeOffset at)
    {
        var (price, pricedAs) = Find(model, at);
        return new PricedCost(Micros(price, usage), pricedAs, ReferenceEquals(price, fallback));
    }

    /// <summary>
    /// The most a request can cost: its input counted by the model's tokenizer as an upper bound
    /// (<see cref="TokenCounter.EstimateInputTokens"/>: chat overhead and a safety margin included), all uncached, and
    /// the full output allowance.
    /// </summary>
    public long WorstCaseMicros(ChatRequest request, int defaultMaxOutputTokens, DateTimeOffset at) =>
        Micros(Find(request.Model, at).Price,
            new TokenUsage(tokens.EstimateInputTokens(request), 0, request.MaxTokens ?? defaultMaxOutputTokens));

    /// <summary>USD per 1M tokens × tokens = micro-dollars; cached tokens are part of the input count and priced apart.</summary>
    public static long Micros(ModelPrice price, TokenUsage usage)
    {
        var cached = Math.Clamp(usage.CachedInputTokens, 0, Math.Max(0, usage.InputTokens));
        var exact = (usage.InputTokens - (decimal)cached) * price.InputUsdPerMillion
                    + cached * price.CachedInput
                    + Math.Max(0, usage.OutputTokens) * price.OutputUsdPerMillion;
        return (long)decimal.Ceiling(Math.Max(0, exact));
    }

    private (ModelPrice Price, string PricedAs) Find(string model, DateTimeOffset at)
    {
        if (prices.TryGetValue(model, out var periods) || prices.TryGetValue(DatedSuffix().Replace(model, ""), out periods))
        {
            var price = periods.LastOrDefault(p => (p.EffectiveFrom ?? DateTimeOffset.MinValue) <= at) ?? periods[0];
            return (price, price.Model);
        }
        if (warned.TryAdd(model, true))
        {
            SpendLog.UnknownModel(logger, model, fallback.InputUsdPerMillion, fallback.CachedInput, fallback.OutputUsdPerMillion);
        }
        return (fallback, "fallback");
    }

    /// <summary>A snapshot date the API appends to a model id: <c>-2025-04-14</c>, or the older <c>-0613</c>.</summary>
    [GeneratedRegex(@"-(\d{4}-\d{2}-\d{2}|\d{4})$")]
    private static partial Regex DatedSuffix();
}
