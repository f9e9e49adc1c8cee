namespace Functions.Core.Routing;

/// <summary>
/// One upstream API, as <c>OpenAI:Endpoints:{n}</c>: a name models refer to, an OpenAI-compatible base URL (OpenAI,
/// Azure OpenAI's <c>…/openai/v1/</c>, any compatible server) and where its key comes from.
/// </summary>
public sealed class EndpointOptions
{
    public string Name { get; set; } = "";

    /// <summary>The base URL; unset: <c>https://api.openai.com/v1</c>.</summary>
    public Uri? Url { get; set; }

    /// <summary>The key when no vault supplies it; read through the secret store (<see cref="SecretName"/>).</summary>
    public string? ApiKey { get; set; }

    /// <summary>The Key Vault secret holding the key (with <c>KeyVault:VaultUri</c> set); read instead of <see cref="ApiKey"/>.</summary>
    public string? KeyVaultSecret { get; set; }

    /// <summary>The one-endpoint case (<c>OpenAI:Endpoint</c>/<c>OpenAI:ApiKey</c>): its key keeps its old secret name.</summary>
    internal bool IsSingle { get; init; }

    /// <summary>The secret store's logical name for this endpoint's key.</summary>
    public string SecretName => IsSingle ? Secrets.SecretNames.OpenAIApiKey : $"OpenAIApiKey.{Name}";

    /// <summary>Loopback servers (a local model, a test fake) may go keyless; anything else needs a key.</summary>
    public bool IsLoopback => Url is { IsAbsoluteUri: true, IsLoopback: true };
}
