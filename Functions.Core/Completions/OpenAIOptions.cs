using System.ComponentModel.DataAnnotations;
using Functions.Core.Routing;

namespace Functions.Core.Completions;

/// <summary>Which OpenAI-compatible API to call, and how. Bound from the <c>OpenAI</c> configuration section.</summary>
public sealed class OpenAIOptions : IValidatableObject
{
    public const string SectionName = "OpenAI";

    /// <summary>
    /// Base URL of any OpenAI-compatible API: <c>https://api.openai.com/v1</c> (the default when unset),
    /// <c>https://{resource}.openai.azure.com/openai/v1/</c>, or a local server such as Ollama's <c>http://localhost:11434/v1</c>.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The key when no vault supplies it (see <c>KeyVault:Secrets:OpenAIApiKey</c>); read through the secret store.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Set from <c>KeyVaultOptions</c>, not bound: the key comes from Key Vault instead of <see cref="ApiKey"/>.</summary>
    internal bool ApiKeyInKeyVault { get; set; }

    [Required(ErrorMessage = "OpenAI:DefaultModel is required.")]
    public string DefaultModel { get; set; } = "gpt-4.1-mini";

    /// <summary>Comma-separated models a caller may ask for besides the default (an app setting stays one line).</summary>
    public string AllowedModels { get; set; } = "";

    /// <summary>How long one HTTP attempt to the model may take.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>The models' endpoints, deployments and limits (<c>OpenAI:Models:{n}:Name</c>, …); a model not listed is unlimited.</summary>
    public List<ModelOptions> Models { get; set; } = [];

    /// <summary>The listed model named <paramref name="name"/>, if any.</summary>
    public ModelOptions? Model(string name) => Models.FirstOrDefault(model => model.Name == name);

    public IReadOnlySet<string> AllowedModelSet =>
        AllowedModels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Append(DefaultModel)
            .ToHashSet(StringComparer.Ordinal);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // A keyless endpoint is legitimate (Ollama, a gateway that injects auth); api.openai.com without a key is not.
        if (Endpoint is null && string.IsNullOrWhiteSpace(ApiKey) && !ApiKeyInKeyVault)
        {
            yield return new ValidationResult(
                "OpenAI:ApiKey (or a Key Vault secret mapped by KeyVault:Secrets:OpenAIApiKey) is required when OpenAI:Endpoint is not set " +
                "(the default endpoint is api.openai.com).",
                [nameof(ApiKey)]);
        }
        for (var i = 0; i < Models.Count; i++)
        {
            var model = Models[i];
            var path = $"{SectionName}:Models:{i}";
            if (string.IsNullOrWhiteSpace(model.Name))
            {
                yield return new ValidationResult($"{path}:Name is required.", [nameof(Models)]);
            }
            else if (Models.Take(i).Any(earlier => earlier.Name == model.Name))
            {
                yield return new ValidationResult($"{path}:Name '{model.Name}' is listed twice; model names must be unique.", [nameof(Models)]);
            }
            if (model.RequestsPerMinute is <= 0)
            {
                yield return new ValidationResult(
                    $"{path}:RequestsPerMinute must be a positive whole number (got {model.RequestsPerMinute}); leave it unset for no limit.", [nameof(Models)]);
            }
            if (model.TokensPerMinute is <= 0)
            {
                yield return new ValidationResult(
                    $"{path}:TokensPerMinute must be a positive whole number (got {model.TokensPerMinute}); leave it unset for no limit.", [nameof(Models)]);
            }
            if (model.Endpoint is { IsAbsoluteUri: false })
            {
                yield return new ValidationResult($"{path}:Endpoint must be an absolute URL.", [nameof(Models)]);
            }
        }
    }
}
