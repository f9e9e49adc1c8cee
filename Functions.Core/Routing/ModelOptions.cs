namespace Functions.Core.Routing;

/// <summary>
/// One model the backend calls, as <c>OpenAI:Models:{n}</c>: its name (what requests ask for), where it is served and
/// the deployment's limits. Shared by upstream pacing and routing; limits left unset are unlimited.
/// </summary>
public sealed class ModelOptions
{
    public string Name { get; set; } = "";

    /// <summary>The OpenAI-compatible base URL serving it; unset: <c>OpenAI:Endpoint</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The deployment (Azure OpenAI) or upstream model id; unset: <see cref="Name"/>.</summary>
    public string? Deployment { get; set; }

    public int? RequestsPerMinute { get; set; }

    public int? TokensPerMinute { get; set; }

    /// <summary>Which upstream counter the model's calls share: one per endpoint and deployment.</summary>
    public string PacingKey(Uri? defaultEndpoint) =>
        $"{(Endpoint ?? defaultEndpoint)?.ToString().TrimEnd('/') ?? "default"}|{Deployment ?? Name}";
}
