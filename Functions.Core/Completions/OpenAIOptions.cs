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

    /// <summary>
    /// The upstream APIs (<c>OpenAI:Endpoints:{n}:Name/Url/ApiKey/KeyVaultSecret</c>). Empty: the one-endpoint case,
    /// <see cref="Endpoint"/> with <see cref="ApiKey"/>, as before endpoints were a list.
    /// </summary>
    public List<EndpointOptions> Endpoints { get; set; } = [];

    /// <summary>The name of the one endpoint built from <see cref="Endpoint"/> when <see cref="Endpoints"/> is empty.</summary>
    public const string SingleEndpointName = "default";

    /// <summary>The endpoints calls go to: those listed, or the one built from <see cref="Endpoint"/> and <see cref="ApiKey"/>.</summary>
    public IReadOnlyList<EndpointOptions> EffectiveEndpoints => Endpoints.Count > 0
        ? Endpoints
        : [new EndpointOptions { Name = SingleEndpointName, Url = Endpoint, ApiKey = ApiKey, IsSingle = true }];

    /// <summary>Where a model not listed (or listed without an endpoint) is served: the first endpoint.</summary>
    public EndpointOptions DefaultEndpoint => EffectiveEndpoints[0];

    /// <summary>The endpoint <paramref name="model"/> is served by, by its <see cref="ModelOptions.Endpoint"/> name; null for a URL.</summary>
    public EndpointOptions? EndpointOf(ModelOptions? model) =>
        model?.Endpoint is not { Length: > 0 } name ? DefaultEndpoint
        : EffectiveEndpoints.FirstOrDefault(endpoint => endpoint.Name == name);

    /// <summary>The listed model named <paramref name="name"/>, if any.</summary>
    public ModelOptions? Model(string name) => Models.FirstOrDefault(model => model.Name == name);

    public IReadOnlySet<string> AllowedModelSet =>
        AllowedModels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Append(DefaultModel)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Set from <c>KeyVaultOptions</c>, not bound: the endpoints (by name) whose key a vault supplies.</summary>
    internal IReadOnlySet<string> EndpointKeysInKeyVault { get; set; } = new HashSet<string>();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in ValidateEndpoints())
        {
            yield return result;
        }
        // A keyless endpoint is legitimate (Ollama, a gateway that injects auth); api.openai.com without a key is not.
        if (Endpoints.Count == 0 && Endpoint is null && string.IsNullOrWhiteSpace(ApiKey) && !ApiKeyInKeyVault)
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
            if (model.Endpoint is { Length: > 0 } endpoint && EndpointOf(model) is null && !Uri.TryCreate(endpoint, UriKind.Absolute, out _))
            {
                yield return new ValidationResult(
                    $"{path}:Endpoint '{endpoint}' names no endpoint: it must be one of OpenAI:Endpoints' names " +
                    $"({string.Join(", ", EffectiveEndpoints.Select(e => e.Name))}) or an absolute URL.", [nameof(Models)]);
            }
        }
    }

    private IEnumerable<ValidationResult> ValidateEndpoints()
    {
        for (var i = 0; i < Endpoints.Count; i++)
        {
            var endpoint = Endpoints[i];
            var path = $"{SectionName}:Endpoints:{i}";
            if (string.IsNullOrWhiteSpace(endpoint.Name) || !endpoint.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                yield return new ValidationResult($"{path}:Name is required: letters, digits, '-' and '_' only (got '{endpoint.Name}').",
                    [nameof(Endpoints)]);
            }
            else if (Endpoints.Take(i).Any(earlier => earlier.Name == endpoint.Name))
            {
                yield return new ValidationResult($"{path}:Name '{endpoint.Name}' is listed twice; endpoint names must be unique.", [nameof(Endpoints)]);
            }
            if (endpoint.Url is { IsAbsoluteUri: false })
            {
                yield return new ValidationResult($"{path}:Url must be an absolute URL.", [nameof(Endpoints)]);
            }
            if (!endpoint.IsLoopback && string.IsNullOrWhiteSpace(endpoint.ApiKey) && !EndpointKeysInKeyVault.Contains(endpoint.Name))
            {
                yield return new ValidationResult(
                    $"{path}:ApiKey (or {path}:KeyVaultSecret with KeyVault:VaultUri) is required: endpoint '{endpoint.Name}' " +
                    $"at {endpoint.Url?.GetLeftPart(UriPartial.Path) ?? "https://api.openai.com/v1"} is not on loopback.", [nameof(Endpoints)]);
            }
        }
    }
}
