using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Spend;

/// <summary>
/// What models cost. Bound from the <c>Pricing</c> configuration section. Prices are a list rather than a map keyed
/// by model because App Service setting names may hold only letters, digits, '.' and '_', not the '-' every model id
/// has: <c>Pricing__Models__0__Model=gpt-4.1-mini</c>, <c>Pricing__Models__0__InputUsdPerMillion=0.40</c>, ….
/// A model listed here replaces all of its built-in prices (<see cref="DefaultPrices"/>); the others keep theirs.
/// </summary>
public sealed class PricingOptions : IValidatableObject
{
    public const string SectionName = "Pricing";

    public List<ModelPrice> Models { get; set; } = [];

    /// <summary>
    /// The price of a model with no entry: never $0. Defaults to the dearest built-in price (gpt-4o) so that an
    /// unknown model is over- rather than under-counted.
    /// </summary>
    public ModelPrice Fallback { get; set; } = new()
    {
        Model = "fallback", InputUsdPerMillion = 2.50m, CachedInputUsdPerMillion = 1.25m, OutputUsdPerMillion = 10.00m,
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (price, index) in Models.Select((price, index) => (price, index)))
        {
            foreach (var error in price.Errors($"Pricing:Models:{index}"))
            {
                yield return new ValidationResult(error, [nameof(Models)]);
            }
        }
        foreach (var error in Fallback.Errors("Pricing:Fallback"))
        {
            yield return new ValidationResult(error, [nameof(Fallback)]);
        }
    }
}

/// <summary>USD per million tokens of each class, from <see cref="EffectiveFrom"/> until the model's next entry.</summary>
public sealed class ModelPrice
{
    /// <summary>The base model id (<c>gpt-4.1-mini</c>); dated ids the API returns (<c>gpt-4.1-mini-2025-04-14</c>) match it.</summary>
    public string Model { get; set; } = "";

    /// <summary>When this price starts to apply (UTC); empty for "always". A model's first entry also covers earlier calls.</summary>
    public DateTimeOffset? EffectiveFrom { get; set; }

    public decimal InputUsdPerMillion { get; set; }

    /// <summary>Cached input tokens; when empty, the full input price (never silently free).</summary>
    public decimal? CachedInputUsdPerMillion { get; set; }

    /// <summary>Output tokens, reasoning tokens included (the API counts them in completion tokens).</summary>
    public decimal OutputUsdPerMillion { get; set; }

    public decimal CachedInput => CachedInputUsdPerMillion ?? InputUsdPerMillion;

    internal IEnumerable<string> Errors(string path)
    {
        if (string.IsNullOrWhiteSpace(Model))
        {
            yield return $"{path}:Model is required.";
        }
        foreach (var (name, value) in (IEnumerable<(string, decimal)>)
                 [("InputUsdPerMillion", InputUsdPerMillion), ("CachedInputUsdPerMillion", CachedInput), ("OutputUsdPerMillion", OutputUsdPerMillion)])
        {
            if (value is < 0 or > 10_000)
            {
                yield return $"{path}:{name} must be from 0 to 10000 (USD per million tokens).";
            }
        }
    }
}

/// <summary>OpenAI's list prices (USD per 1M tokens: input / cached input / output) for the models this backend allows by default.</summary>
public static class DefaultPrices
{
    public static IReadOnlyList<ModelPrice> All { get; } =
    [
        Price("gpt-4.1-mini", "2025-04-14", 0.40m, 0.10m, 1.60m),
        Price("gpt-4.1", "2025-04-14", 2.00m, 0.50m, 8.00m),
        Price("gpt-4.1-nano", "2025-04-14", 0.10m, 0.025m, 0.40m),
        Price("gpt-4o-mini", "2024-07-18", 0.15m, 0.075m, 0.60m),
        Price("gpt-4o", "2024-08-06", 2.50m, 1.25m, 10.00m),
    ];

    private static ModelPrice Price(string model, string from, decimal input, decimal cached, decimal output) => new()
    {
        Model = model,
        EffectiveFrom = DateTimeOffset.Parse(from + "T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
        InputUsdPerMillion = input,
        CachedInputUsdPerMillion = cached,
        OutputUsdPerMillion = output,
    };
}
