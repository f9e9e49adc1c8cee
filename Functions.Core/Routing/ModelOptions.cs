namespace Functions.Core.Routing;

/// <summary>
/// One model the backend calls, as <c>OpenAI:Models:{n}</c>: its name (what requests and routes ask for), which
/// endpoint serves it, the deployment's name there and its limits. Shared by upstream pacing and routing; limits left
/// unset are unlimited.
/// </summary>
public sealed class ModelOptions
{
    public string Name { get; set; } = "";

    /// <summary>
    /// The name of the <c>OpenAI:Endpoints</c> entry serving it, or an OpenAI-compatible base URL (served with the
    /// default endpoint's key); unset: the default endpoint (the first listed, else <c>OpenAI:Endpoint</c>).
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>The deployment (Azure OpenAI) or upstream model id; unset: <see cref="Name"/>.</summary>
    public string? Deployment { get; set; }

    public int? RequestsPerMinute { get; set; }

    public int? TokensPerMinute { get; set; }

    /// <summary>Set from the endpoints list (not bound): the base URL <see cref="Endpoint"/> resolves to.</summary>
    internal Uri? ResolvedUrl { get; set; }

    /// <summary>Which upstream counter the model's calls share: one per endpoint and deployment.</summary>
    public string PacingKey(Uri? defaultEndpoint) =>
        $"{(ResolvedUrl ?? (Uri.TryCreate(Endpoint, UriKind.Absolute, out var url) ? url : defaultEndpoint))?.ToString().TrimEnd('/') ?? "default"}|{Deployment ?? Name}";
}
